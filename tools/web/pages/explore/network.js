// The chosen party's neighbourhood as a force-directed graph (Cytoscape.js, laid out by
// fcose) and as a list of its typed, dated edges: the list is what keyboards and screen
// readers use, the graph is for the eye. A click on a node, or on a name in the list,
// explores that party instead.
import cytoscape from "cytoscape";
import fcose from "cytoscape-fcose";
import { latest } from "./api.js";
import { day, h } from "./dom.js";

cytoscape.use(fcose);

/** Every relationship type, with the colour its edges are drawn in. */
const COLOURS = {
  PART_OF: "#1f77b4",
  EMPLOYS: "#d62728",
  MEMBER_OF: "#2ca02c",
  HEIR_OF: "#9467bd",
  REPORTS_TO: "#e6861a",
  RESPONSIBLE_FOR: "#8c564b",
  KNOWS: "#7f7f7f",
};
const LIMIT = 100;
const DEPTHS = [1, 2, 3, 4];
const PARTY = "id displayName kind ... on Organization { unitType }";
export const EDGE = "id type role since until fromId toId";
const QUERY = `query Network($id: ID!, $depth: Int!, $types: [RelType!], $asOf: DateTime) {
  party(id: $id) { network(depth: $depth, types: $types, limit: ${LIMIT}, asOf: $asOf) {
    truncated nodes { ${PARTY} } edges { ${EDGE} } } } }`;

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "font-size": 11,
      "text-valign": "bottom",
      "text-margin-y": 4,
      "background-color": "#5b6b7f",
      width: 18,
      height: 18,
    },
  },
  {
    selector: 'node[kind = "ORGANIZATION"]',
    style: { shape: "round-rectangle", "background-color": "#34495e" },
  },
  {
    selector: "node.centre",
    style: { "background-color": "#0b5cad", width: 28, height: 28, "font-weight": "bold" },
  },
  {
    selector: "edge",
    style: {
      width: 2,
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      label: "data(label)",
      "font-size": 8,
      "text-rotation": "autorotate",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.8,
    },
  },
  ...Object.entries(COLOURS).map(([type, colour]) => ({
    selector: `edge[type = "${type}"]`,
    style: { "line-color": colour, "target-arrow-color": colour },
  })),
  { selector: "edge.ended", style: { "line-style": "dashed" } },
  {
    selector: ".path",
    style: { "underlay-color": "#ffd400", "underlay-opacity": 0.9, "underlay-padding": 5 },
  },
];

/** "EMPLOYS (Warehouse Manager) since 2022-01-05": what an edge is and when. */
export function edgeText(edge) {
  const role = edge.role ? ` (${edge.role})` : "";
  const until = edge.until ? ` until ${day(edge.until)}` : "";
  return `${edge.type}${role} since ${day(edge.since)}${until}`;
}

/** Cytoscape adds a <style> to the page the first time it draws, which the page's policy
 * refuses unless it carries this response's nonce: the page adds it first, with the nonce. */
function admitCytoscapeStyle(nonce) {
  const id = "__________cytoscape_stylesheet";
  if (document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.nonce = nonce;
  style.textContent = ".__________cytoscape_container { position: relative; }";
  document.head.prepend(style);
}

export class Network {
  constructor(api, onPick, onError, styleNonce) {
    this.read = latest(api);
    this.onPick = onPick;
    this.onError = onError;
    this.names = new Map();
    admitCytoscapeStyle(styleNonce);
    this.depth = h(
      "select",
      { id: "network-depth", onchange: () => this.reload() },
      DEPTHS.map((d) => h("option", { value: d, selected: d === 2 }, String(d))),
    );
    this.types = Object.keys(COLOURS).map((type) =>
      h("input", { type: "checkbox", value: type, checked: true, onchange: () => this.reload() }),
    );
    this.legend = h(
      "fieldset",
      { class: "legend" },
      h("legend", {}, "Relationship types"),
      this.types.map((box) => h("label", {}, box, swatch(box.value), ` ${box.value}`)),
    );
    this.canvas = h("div", {
      class: "graph",
      role: "img",
      "aria-label": "The network as a graph; the same as the list below it",
    });
    this.note = h("p", { class: "note", "aria-live": "polite" });
    this.list = h("ul", { class: "edges", "aria-label": "Relationships in the network" });
    this.element = h(
      "section",
      { "aria-labelledby": "network-title" },
      h("h2", { id: "network-title" }, "Network"),
      h(
        "div",
        { class: "controls" },
        h("label", { for: "network-depth" }, "Depth "),
        this.depth,
        this.legend,
      ),
      this.canvas,
      this.note,
      this.list,
    );
    // drawn while the page is still hidden: no layout until there is something to lay out
    this.cy = cytoscape({
      container: this.canvas,
      style: STYLE,
      layout: { name: "preset" },
      minZoom: 0.2,
      maxZoom: 3,
    });
    this.cy.on("tap", "node", (event) => this.onPick(event.target.id()));
  }

  async load(partyId, asOf) {
    this.partyId = partyId;
    this.asOf = asOf;
    const types = this.types.filter((box) => box.checked).map((box) => box.value);
    if (types.length === 0) {
      this.draw({ nodes: [], edges: [], truncated: false });
      this.note.textContent = "Choose at least one relationship type.";
      return;
    }
    const variables = { id: partyId, depth: Number(this.depth.value), types, asOf };
    const data = await this.read(QUERY, variables);
    if (data) this.draw(data.party?.network ?? { nodes: [], edges: [], truncated: false });
  }

  reload() {
    this.load(this.partyId, this.asOf).catch((error) => this.onError(error));
  }

  draw(network) {
    this.names = new Map(network.nodes.map((node) => [node.id, node.displayName]));
    this.cy.elements().remove();
    this.add(network.nodes, network.edges);
    this.note.textContent = network.truncated
      ? `More than ${LIMIT} parties are in reach: the nearest are shown.`
      : "";
    this.list.replaceChildren(...network.edges.map((edge) => this.item(edge)));
    // a path found before this answer came stays marked, if it still starts here
    if (this.path?.nodes[0].id === this.partyId) this.highlight(this.path);
  }

  /** Add parties and edges not drawn yet, and lay the graph out again. */
  add(nodes, edges) {
    for (const node of nodes) {
      this.names.set(node.id, node.displayName);
      if (this.cy.getElementById(node.id).empty()) {
        this.cy.add({ data: { id: node.id, label: node.displayName, kind: node.kind } });
      }
    }
    for (const edge of edges) {
      if (this.cy.getElementById(edge.id).empty()) {
        const data = {
          id: edge.id,
          source: edge.fromId,
          target: edge.toId,
          type: edge.type,
          label: `${edge.type.toLowerCase()} ${edge.since.slice(0, 4)}`,
        };
        this.cy.add({ data, classes: edge.until ? "ended" : "" });
      }
    }
    this.cy.getElementById(this.partyId).addClass("centre");
    this.cy.resize(); // the page may have been hidden when the graph was made
    this.cy
      .layout({
        name: "fcose",
        animate: false,
        randomize: true,
        nodeRepulsion: 8000,
        idealEdgeLength: 90,
      })
      .run();
  }

  item(edge) {
    const end = (id) =>
      h(
        "button",
        { type: "button", class: "link", onclick: () => this.onPick(id) },
        this.names.get(id) ?? id,
      );
    return h(
      "li",
      { "data-id": edge.id },
      swatch(edge.type),
      end(edge.fromId),
      ` — ${edgeText(edge)} → `,
      end(edge.toId),
    );
  }

  /** Mark a path's parties and edges, drawing those the network did not reach. */
  highlight(path) {
    this.path = path;
    this.cy.elements().removeClass("path");
    if (!path) return;
    this.add(path.nodes, path.relationships);
    for (const element of [...path.nodes, ...path.relationships])
      this.cy.getElementById(element.id).addClass("path");
  }
}

function swatch(type) {
  const element = h("span", { class: "swatch", "aria-hidden": "true" });
  element.style.backgroundColor = COLOURS[type]; // CSSOM: the policy refuses style attributes only
  return element;
}
