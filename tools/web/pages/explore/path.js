// The shortest path from the chosen party to another, as of the chosen date: listed step
// by step, and marked in the network (its parties and edges drawn there when missing).
import { latest } from "./api.js";
import { describe, h } from "./dom.js";
import { EDGE, edgeText } from "./network.js";
import { Search } from "./search.js";

const QUERY = `query Path($from: ID!, $to: ID!, $asOf: DateTime) {
  path(fromId: $from, toId: $to, asOf: $asOf) {
    length nodes { id displayName kind ... on Organization { unitType } } relationships { ${EDGE} } } }`;

export class PathFinder {
  constructor(api, network, onError) {
    this.read = latest(api);
    this.network = network;
    this.onError = onError;
    this.search = new Search(api, "path-to", "Path to", (party) => this.find(party.id), onError);
    this.result = h("ol", { class: "path", "aria-live": "polite" });
    this.note = h("p", { class: "note" });
    this.element = h(
      "section",
      { "aria-labelledby": "path-title" },
      h("h2", { id: "path-title" }, "Path"),
      this.search.element,
      this.note,
      this.result,
    );
  }

  /** A new party or date: the path shown, if any, is found again from it. */
  async load(partyId, asOf) {
    this.partyId = partyId;
    this.asOf = asOf;
    if (this.toId) await this.find(this.toId);
  }

  async find(toId) {
    this.toId = toId;
    try {
      const data = await this.read(QUERY, { from: this.partyId, to: toId, asOf: this.asOf });
      if (data) this.show(data.path);
    } catch (error) {
      this.onError(error);
    }
  }

  show(path) {
    this.network.highlight(path);
    if (!path) {
      this.note.textContent = "No path joins them on that date.";
      this.result.replaceChildren();
      return;
    }
    this.note.textContent = `${path.length} step${path.length === 1 ? "" : "s"}:`;
    this.result.replaceChildren(
      ...path.nodes.map((node, at) => {
        const edge = path.relationships[at];
        return h(
          "li",
          {},
          h("strong", {}, describe(node)),
          edge ? h("small", {}, ` ${edgeText(edge)}`) : null,
        );
      }),
    );
  }
}
