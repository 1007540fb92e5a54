import type { WhoAmIResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import type { FeedState } from "./event-feed.js";

const LIVE_TEXT: Record<FeedState["state"], string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  stopped: "not live",
};

/** The frame around every page: skip link, navigation, who is signed in, live status, the main region. */
export class Shell {
  readonly el: HTMLElement;
  readonly main: HTMLElement;
  private readonly links: HTMLAnchorElement[];
  private readonly liveEl: HTMLElement;

  constructor(me: WhoAmIResponse, onSignOut: () => void) {
    this.links = [h("a", { href: "/ui/keys" }, "Keys"), h("a", { href: "/ui/activity" }, "Activity")];
    this.liveEl = h("span", { class: "live", "data-state": "connecting", title: "" }, "");
    const who = me.authEnabled ? `${me.principal ?? ""}${me.roles?.length ? ` · ${me.roles.join(", ")}` : ""}` : "auth off: every call is allowed";
    this.main = h("main", { id: "main", tabindex: -1 });
    this.el = h(
      "div",
      { class: "shell" },
      h("a", { class: "skip", href: "#main" }, "Skip to content"),
      h(
        "header",
        { class: "top" },
        h("a", { class: "brand", href: "/ui/keys" }, h("img", { src: "/ui/icon.svg", alt: "", width: 22, height: 22 }), "ctm console"),
        h("nav", { "aria-label": "Console" }, h("ul", {}, this.links.map((a) => h("li", {}, a)))),
        h(
          "div",
          { class: "who" },
          this.liveEl,
          h("span", { class: "principal", "data-testid": "whoami" }, who),
          me.authEnabled ? h("button", { type: "button", class: "quiet", onclick: onSignOut }, "Sign out") : null,
        ),
      ),
      this.main,
    );
  }

  /** Marks the navigation link of the current section. */
  setSection(path: string): void {
    for (const a of this.links) {
      const current = path.startsWith(a.pathname) || (a.pathname === "/ui/keys" && (path === "/ui/" || path.startsWith("/ui/key/")));
      if (current) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  setLive(s: FeedState): void {
    this.liveEl.dataset.state = s.state;
    this.liveEl.title = s.state === "stopped" ? s.reason : "";
    replace(this.liveEl, s.state === "stopped" ? `not live: ${s.reason}` : LIVE_TEXT[s.state]);
  }
}
