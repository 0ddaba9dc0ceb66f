// The chosen party's rolled-up timeline (its own activities and those of every party
// below it), newest first, a page at a time by cursor; activities recorded while it is
// open arrive over the `activityAdded` subscription and take their place in it. As of a
// past date it ends at that date: what happened later, or happens now, is not shown.
import { latest } from "./api.js";
import { day, h } from "./dom.js";

const PAGE = 20;
const ACTIVITY = "id type occurredAt summary author { displayName } source { displayName }";
const QUERY = `query Timeline($id: ID!, $after: String, $asOf: DateTime, $until: DateTime) {
  party(id: $id) { timeline(first: ${PAGE}, after: $after, includeDescendants: true,
    asOf: $asOf, until: $until) {
    pageInfo { hasNextPage endCursor } edges { node { ${ACTIVITY} } } } } }`;
const LIVE = `subscription Live($id: ID!) {
  activityAdded(subjectId: $id, includeDescendants: true) { ${ACTIVITY} } }`;

export class Timeline {
  constructor(api, onError) {
    this.api = api;
    this.read = latest(api);
    this.onError = onError;
    this.list = h("ol", { class: "timeline", "aria-live": "polite" });
    this.more = h(
      "button",
      { type: "button", hidden: true, onclick: () => this.page().catch(onError) },
      "More",
    );
    this.status = h("span", { class: "note" });
    this.element = h(
      "aside",
      { "aria-labelledby": "timeline-title" },
      h("h2", { id: "timeline-title" }, "Timeline ", this.status),
      this.list,
      this.more,
    );
  }

  /** Read `partyId`'s first page (its hierarchy as of `asOf`, and up to it when `past`)
   * and follow it live. */
  async load(partyId, asOf, past) {
    const following = this.partyId === partyId;
    this.partyId = partyId;
    this.asOf = asOf;
    this.until = past ? asOf : null;
    this.cursor = null;
    this.shown = new Set();
    this.list.replaceChildren();
    await this.page();
    if (!following) this.follow();
  }

  async page() {
    const data = await this.read(QUERY, {
      id: this.partyId,
      after: this.cursor,
      asOf: this.asOf,
      until: this.until,
    });
    const timeline = data?.party?.timeline;
    if (!timeline) return;
    for (const edge of timeline.edges) this.place(edge.node, false);
    this.cursor = timeline.pageInfo.endCursor;
    this.more.hidden = !timeline.pageInfo.hasNextPage;
  }

  follow() {
    this.stop?.();
    this.status.textContent = "(live)";
    this.stop = this.api.watch(
      LIVE,
      { id: this.partyId },
      (data) => this.place(data.activityAdded, true),
      (error) => {
        this.status.textContent = "(not live)";
        this.onError(error);
      },
    );
  }

  /** Put an activity where it belongs, newest first; a live one older than every activity
   * shown, while older pages are still to come, arrives with them instead. */
  place(activity, live) {
    if (
      this.shown.has(activity.id) ||
      (this.until && Date.parse(activity.occurredAt) > Date.parse(this.until))
    )
      return;
    const later = [...this.list.children].find((item) => item.dataset.at < activity.occurredAt);
    if (live && !later && !this.more.hidden) return;
    this.shown.add(activity.id);
    this.list.insertBefore(this.item(activity, live), later ?? null);
  }

  item(activity, live) {
    const from = activity.source ? ` · ${activity.source.displayName}` : "";
    return h(
      "li",
      { "data-at": activity.occurredAt, class: live ? "new" : null },
      h("time", { datetime: activity.occurredAt }, day(activity.occurredAt)),
      h("strong", {}, ` ${activity.type.toLowerCase()} `),
      activity.summary,
      h("small", {}, ` — ${activity.author.displayName}${from}`),
    );
  }
}
