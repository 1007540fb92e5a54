/** A console address, parsed. */
export type Route =
  | { page: "keys"; prefix: string }
  | { page: "key"; key: string }
  | { page: "activity"; params: URLSearchParams }
  | { page: "missing"; path: string };

/** Reads the address bar: /ui/keys?prefix=, /ui/key/<key>, /ui/activity?author=&prefix=&kind=. */
export function parseRoute(loc: { pathname: string; search: string }): Route {
  const params = new URLSearchParams(loc.search);
  const path = loc.pathname;
  if (path === "/ui/" || path === "/ui/keys") return { page: "keys", prefix: params.get("prefix") ?? "" };
  if (path === "/ui/activity") return { page: "activity", params };
  if (path.startsWith("/ui/key/")) {
    try {
      return { page: "key", key: decodeURIComponent(path.slice("/ui/key/".length)) };
    } catch {
      return { page: "missing", path };
    }
  }
  return { page: "missing", path };
}

/**
 * Client-side navigation: links under /ui/ change the page without a reload (the server
 * answers index.html for these addresses too, so a reload or a shared link lands the same).
 */
export class Router {
  constructor(private readonly show: (r: Route) => void) {
    addEventListener("popstate", () => this.show(parseRoute(location)));
    document.addEventListener("click", (e) => {
      const a = (e.target as Element | null)?.closest?.("a");
      if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.hasAttribute("download")) return;
      if (a.origin !== location.origin || !a.pathname.startsWith("/ui/")) return;
      e.preventDefault();
      this.navigate(a.pathname + a.search + a.hash);
    });
  }

  navigate(href: string, replaceEntry = false): void {
    const url = new URL(href, location.href);
    if (url.hash && url.pathname === location.pathname && url.search === location.search) {
      // In-page anchors (the skip link, a key's sections) move focus there, not to another page.
      const target = document.getElementById(url.hash.slice(1));
      if (target === null) return;
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
      target.scrollIntoView({ block: "start" });
      return;
    }
    if (replaceEntry) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    this.show(parseRoute(url));
  }

  current(): Route {
    return parseRoute(location);
  }
}
