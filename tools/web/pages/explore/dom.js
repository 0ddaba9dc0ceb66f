// Building the page's elements. Attributes go through setAttribute and never a `style`
// attribute: the page's Content-Security-Policy refuses inline styles, but not styles
// set through the CSSOM (element.style), which is how colours reach the legend.

/** An element `tag` with attributes (`on…` ones are listeners) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** A day as the API's dates print it (2025-11-24): unambiguous in any language. */
export function day(iso) {
  return iso.slice(0, 10);
}

/** A party's name with what it is, for lists. */
export function describe(party) {
  const what = party.unitType ?? party.kind;
  return `${party.displayName} (${what.toLowerCase()})`;
}
