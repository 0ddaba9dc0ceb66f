// Finding a party by name: `parties(search:)` as the visitor types (a pause of a quarter
// second first); Enter takes the first match, the arrow keys walk the matches.
import { latest } from "./api.js";
import { describe, h } from "./dom.js";

const QUERY = `query Find($search: String!) {
  parties(search: $search, first: 8) { edges { node { id displayName kind ... on Organization { unitType } } } } }`;
const PAUSE_MS = 250;

export class Search {
  /** A search box labelled `label`; `onPick(party)` when a match is chosen. */
  constructor(api, id, label, onPick, onError) {
    this.read = latest(api);
    this.onPick = onPick;
    this.onError = onError;
    this.input = h("input", {
      id,
      type: "search",
      autocomplete: "off",
      placeholder: "a name",
      "aria-controls": `${id}-matches`,
    });
    this.matches = h("ul", { id: `${id}-matches`, class: "matches", "aria-label": "Matches" });
    this.element = h(
      "div",
      { class: "search" },
      h("label", { for: id }, label),
      this.input,
      this.matches,
    );
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.find(), PAUSE_MS);
    });
    this.input.addEventListener("keydown", (event) => this.key(event));
    this.matches.addEventListener("keydown", (event) => this.walk(event));
  }

  async find() {
    const search = this.input.value.trim();
    if (!search) {
      this.matches.replaceChildren();
      return;
    }
    try {
      const data = await this.read(QUERY, { search });
      if (!data || this.input.value.trim() !== search) return; // another search overtook it
      const parties = data.parties.edges.map((edge) => edge.node);
      this.matches.replaceChildren(
        ...(parties.length
          ? parties.map((party) =>
              h(
                "li",
                {},
                h("button", { type: "button", onclick: () => this.pick(party) }, describe(party)),
              ),
            )
          : [h("li", { class: "note" }, "No party has that name.")]),
      );
    } catch (error) {
      this.onError(error);
    }
  }

  pick(party) {
    this.matches.replaceChildren();
    this.input.value = party.displayName;
    this.onPick(party);
  }

  async key(event) {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(this.timer);
      await this.find();
      this.matches.querySelector("button")?.click();
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      this.matches.querySelector("button")?.focus();
    }
  }

  walk(event) {
    const buttons = [...this.matches.querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < buttons.length - 1) buttons[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? buttons[at - 1] : this.input).focus();
    else if (event.key === "Escape") this.input.focus();
    else return;
    event.preventDefault();
  }
}
