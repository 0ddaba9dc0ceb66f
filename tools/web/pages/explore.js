// The explorer: find a party, then see its org tree, its network, a path to another party
// and its rolled-up timeline, all as of one date. Every read goes to the public API with
// the visitor's token (the demo's, when the server puts it into the page's JSON block;
// else one the visitor gives, kept in this tab's sessionStorage), so the server scopes
// what the page shows exactly as it would for any other client.
import "./explore.css";
import { Api, ApiError } from "./explore/api.js";
import { describe, h } from "./explore/dom.js";
import { Network } from "./explore/network.js";
import { PathFinder } from "./explore/path.js";
import { Search } from "./explore/search.js";
import { Timeline } from "./explore/timeline.js";
import { Tree } from "./explore/tree.js";
import { When } from "./explore/when.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const TOKEN_KEY = "contactgraph.token";
const PARTY = `query Party($id: ID!) { party(id: $id) {
  id displayName kind createdAt ... on Organization { unitType } relationships(includeEnded: true) { since } } }`;

const problem = h("p", { id: "problem", role: "alert" });
const session = h("div", { class: "session" });
const root = document.getElementById("page");
root.replaceChildren(h("header", {}, h("h1", {}, "contactgraph explorer"), session), problem);

function report(error) {
  problem.textContent = error instanceof ApiError ? String(error) : error.message;
  if (error.code === "UNAUTHENTICATED" && !config.headers.Authorization) askForToken();
}

function askForToken() {
  // a header value is printable ASCII: anything else could never be sent
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    pattern: "[!-~]+",
    title: "An API token: one word of letters, digits and punctuation, no spaces",
  });
  const form = h(
    "form",
    { class: "token" },
    h("label", { for: "token" }, "API token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    window.location.reload();
  });
  session.replaceChildren(
    h("span", {}, "This server needs your API token (contactgraph token create)."),
    form,
  );
  input.focus();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  window.location.reload();
}

async function start(headers) {
  const api = new Api(headers);
  const viewer = await api.read("{ viewer { displayName } }");
  const leave = config.headers.Authorization
    ? null
    : h("button", { type: "button", onclick: signOut }, "Sign out");
  session.replaceChildren(h("span", {}, `Signed in as ${viewer.viewer.displayName} `), leave ?? "");

  const title = h("h2", { id: "party-name", tabindex: "-1" });
  const when = new When(() => refresh());
  const tree = new Tree(api, (id) => explore(id), report);
  const network = new Network(api, (id) => explore(id), report, config.styleNonce);
  const path = new PathFinder(api, network, report);
  const timeline = new Timeline(api, report);
  const view = h(
    "main",
    { hidden: true },
    h("div", { class: "chosen" }, title, when.element),
    h(
      "div",
      { class: "panes" },
      tree.element,
      h("div", { class: "middle" }, network.element, path.element),
      timeline.element,
    ),
  );
  const find = new Search(api, "find", "Find a party", (party) => explore(party.id), report);
  root.append(h("div", { class: "finder" }, find.element), view);
  find.input.focus();

  let current = null;
  async function explore(partyId) {
    problem.textContent = "";
    try {
      const { party } = await api.read(PARTY, { id: partyId });
      if (!party) throw new Error("That party is not there, or not visible to you.");
      current = party;
      title.textContent = describe(party);
      const dates = [party.createdAt, ...party.relationships.map((r) => r.since)];
      when.reach(dates.reduce((a, b) => (Date.parse(a) < Date.parse(b) ? a : b)));
      view.hidden = false;
      window.history.replaceState(null, "", `#${encodeURIComponent(party.id)}`);
      await refresh();
    } catch (error) {
      report(error);
    }
  }

  async function refresh() {
    if (!current) return;
    const asOf = when.asOf();
    const reads = [tree, network, timeline, path].map((part) =>
      part.load(current.id, asOf, when.daysAgo > 0),
    );
    const failed = (await Promise.allSettled(reads)).find((read) => read.status === "rejected");
    if (failed) report(failed.reason);
  }

  const linked = decodeURIComponent(window.location.hash.slice(1));
  if (linked) await explore(linked);
}

const token = sessionStorage.getItem(TOKEN_KEY);
const headers = config.headers.Authorization
  ? config.headers
  : token
    ? { Authorization: `Bearer ${token}` }
    : null;
if (headers) start(headers).catch(report);
else askForToken();
