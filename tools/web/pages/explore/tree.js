// The chosen party's org tree as of the chosen date: `children` level by level, fetched
// one level deeper than shown so a node says whether it has more. Levels open and close
// together (native <details>, which keyboards and screen readers know). Above the tree,
// the units the party belongs to, nearest first: where a person or a unit sits.
import { latest } from "./api.js";
import { h } from "./dom.js";

const PARTY = "id displayName kind ... on Organization { unitType }";
const MAX_LEVELS = 4; // five nested lists stay well under the API's cost ceiling

function treeQuery(levels) {
  let below = "";
  for (let level = 0; level < levels; level += 1) {
    below = `children(asOf: $asOf) { ${PARTY} ${below} }`;
  }
  return `query Tree($id: ID!, $asOf: DateTime) { party(id: $id) {
    ${PARTY} ancestors(asOf: $asOf) { id displayName } ${below} } }`;
}

export class Tree {
  constructor(api, onPick, onError) {
    this.read = latest(api);
    this.onPick = onPick;
    this.onError = onError;
    this.levels = 2;
    this.shown = h("output", { id: "tree-levels" });
    this.fewer = h(
      "button",
      { type: "button", onclick: () => this.show(this.levels - 1) },
      "Collapse a level",
    );
    this.more = h(
      "button",
      { type: "button", onclick: () => this.show(this.levels + 1) },
      "Expand a level",
    );
    this.body = h("div", { class: "tree", "aria-live": "polite" });
    this.element = h(
      "section",
      { "aria-labelledby": "tree-title" },
      h("h2", { id: "tree-title" }, "Organization"),
      h(
        "div",
        { class: "controls" },
        this.fewer,
        this.more,
        h("span", {}, "Levels shown: ", this.shown),
      ),
      this.body,
    );
  }

  /** Read the tree of `partyId` as of `asOf` again. */
  async load(partyId, asOf) {
    this.partyId = partyId;
    this.asOf = asOf;
    const data = await this.read(treeQuery(this.levels + 1), { id: partyId, asOf });
    if (!data) return;
    this.root = data.party;
    this.render();
  }

  show(levels) {
    this.levels = Math.max(1, Math.min(MAX_LEVELS, levels));
    this.load(this.partyId, this.asOf).catch((error) => this.onError(error));
  }

  render() {
    this.shown.textContent = String(this.levels);
    this.fewer.disabled = this.levels <= 1;
    this.more.disabled = this.levels >= MAX_LEVELS;
    if (!this.root) {
      this.body.replaceChildren("Not visible to you.");
      return;
    }
    const above = this.root.ancestors.map((party) => this.link(party));
    this.body.replaceChildren(
      above.length ? h("p", { class: "above" }, "Part of: ", joined(above)) : "",
      h("ul", {}, this.node(this.root, 0)),
    );
  }

  pick(event, partyId) {
    event.preventDefault(); // a click in a <summary> would also open or close its level
    this.onPick(partyId);
  }

  link(party) {
    const explore = (event) => this.pick(event, party.id);
    return h(
      "button",
      { type: "button", class: "link", title: "Explore this party", onclick: explore },
      party.displayName,
    );
  }

  node(party, depth) {
    const label = h(
      "span",
      { class: "unit", "data-id": party.id },
      this.link(party),
      party.unitType ? h("small", {}, ` ${party.unitType.toLowerCase()}`) : null,
    );
    const children = party.children ?? [];
    if (depth >= this.levels || children.length === 0) {
      const more =
        depth >= this.levels && children.length
          ? h("small", { class: "more" }, ` +${children.length}`)
          : null;
      return h("li", {}, label, more);
    }
    return h(
      "li",
      {},
      h(
        "details",
        { open: true },
        h("summary", {}, label),
        h(
          "ul",
          {},
          children.map((child) => this.node(child, depth + 1)),
        ),
      ),
    );
  }
}

/** Elements with a comma between each and the next. */
function joined(elements) {
  return elements.flatMap((element, at) => (at ? [", ", element] : [element]));
}
