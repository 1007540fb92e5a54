/** What an element may hold: nodes and text; false, null and undefined are left out. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Listener = (e: Event) => void;
/** Attributes by name; `on<event>` names a listener; true is a bare attribute, false or undefined none. */
export type Attrs = Record<string, string | number | boolean | Listener | undefined>;

function fill(el: Element, attrs: Attrs, children: readonly Child[]): void {
  for (const [name, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(name.slice(2), v);
    else el.setAttribute(name, v === true ? "" : String(v));
  }
  append(el, children);
}

/** Appends children as nodes and text nodes: text is never parsed as markup. */
export function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** An HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  fill(el, attrs, children);
  return el;
}

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  fill(el, attrs, children);
  return el;
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
