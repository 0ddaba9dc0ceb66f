// The date every read is made as of: a slider from the party's oldest relationship to
// today, and beside it a date field saying the same (and taking a typed date).
import { h } from "./dom.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export class When {
  constructor(onChange) {
    this.onChange = onChange;
    this.slider = h("input", { id: "as-of", type: "range", min: 0, max: 0, step: 1, value: 0 });
    this.date = h("input", { id: "as-of-day", type: "date", "aria-label": "As of, the date" });
    this.today = h("button", { type: "button", onclick: () => this.set(0) }, "Today");
    this.element = h(
      "div",
      { class: "when" },
      h("label", { for: "as-of" }, "As of"),
      this.slider,
      this.date,
      this.today,
    );
    this.slider.addEventListener("input", () => this.showDate());
    this.slider.addEventListener("change", () =>
      this.set(Number(this.slider.max) - Number(this.slider.value)),
    );
    this.date.addEventListener("change", () => {
      const picked = Date.parse(`${this.date.value}T00:00:00Z`);
      if (!Number.isNaN(picked)) this.set(Math.floor((Date.now() - picked) / DAY_MS));
    });
    this.daysAgo = 0;
  }

  /** The slider reaches back to `oldest` (an ISO date) and no further. */
  reach(oldest) {
    const span = Math.max(0, Math.floor((Date.now() - Date.parse(oldest)) / DAY_MS));
    this.slider.max = String(span);
    this.date.min = new Date(Date.now() - span * DAY_MS).toISOString().slice(0, 10);
    this.date.max = new Date().toISOString().slice(0, 10);
    this.daysAgo = Math.min(this.daysAgo, span);
    this.showSlider();
  }

  /** The moment `daysAgo` stands for, as the API takes it. */
  asOf() {
    return new Date(Date.now() - this.daysAgo * DAY_MS).toISOString();
  }

  set(daysAgo) {
    this.daysAgo = Math.max(0, Math.min(Number(this.slider.max), daysAgo));
    this.showSlider();
    this.onChange();
  }

  showSlider() {
    this.slider.value = String(Number(this.slider.max) - this.daysAgo);
    this.showDate();
  }

  showDate() {
    const daysAgo = Number(this.slider.max) - Number(this.slider.value);
    this.date.value = new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10);
    this.slider.setAttribute(
      "aria-valuetext",
      daysAgo === 0 ? "today" : `${this.date.value}, ${daysAgo} days ago`,
    );
  }
}
