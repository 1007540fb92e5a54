import { ActivityPage } from "./activity-page.js";
import { ApiClient, ApiError } from "./api-client.js";
import type { WhoAmIResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { describeError, errorView } from "./error-view.js";
import { KeyPage } from "./key-page.js";
import { KeysPage } from "./keys-page.js";
import { loginPage } from "./login-page.js";
import type { Page, PageContext } from "./page.js";
import { Router, type Route } from "./router.js";
import { Shell } from "./shell.js";
import { TokenStore } from "./token-store.js";

/** The console: who is signed in, the shell, and the page the address names. */
export class App {
  private readonly tokens = new TokenStore();
  private readonly api = new ApiClient(this.tokens, (message) => this.signOut(`ctmd refused the token: ${message}`));
  private readonly router = new Router((r) => this.show(r, true));
  private shell: Shell | undefined;
  private page: Page | undefined;
  private ctx: PageContext | undefined;

  constructor(private readonly root: HTMLElement) {}

  async start(): Promise<void> {
    try {
      this.mount(await this.api.call<WhoAmIResponse>("AuthService/WhoAmI", {}));
    } catch (e) {
      if (e instanceof ApiError && e.code === "unauthenticated") this.showLogin(this.tokens.get() === undefined ? undefined : describeError(e));
      else replace(this.root, h("main", { id: "main", class: "login-page" }, h("h1", {}, "ctm console"), errorView(e)));
    }
  }

  private showLogin(notice?: string): void {
    this.shell = undefined;
    this.ctx = undefined;
    document.title = "Sign in · ctm";
    replace(this.root, loginPage((token) => this.signIn(token), notice));
  }

  /** Tries a token: kept only once ctmd accepts it. */
  private async signIn(token: string): Promise<string | undefined> {
    this.tokens.set(token);
    try {
      this.mount(await this.api.call<WhoAmIResponse>("AuthService/WhoAmI", {}));
      return undefined;
    } catch (e) {
      this.tokens.clear();
      return describeError(e);
    }
  }

  private signOut(notice?: string): void {
    if (this.shell === undefined) return;
    this.page?.dispose();
    this.page = undefined;
    this.tokens.clear();
    this.showLogin(notice);
  }

  private mount(me: WhoAmIResponse): void {
    this.shell = new Shell(me, () => this.signOut());
    const shell = this.shell;
    this.ctx = { api: this.api, me, navigate: (href) => this.router.navigate(href), live: (s) => shell.setLive(s) };
    replace(this.root, shell.el);
    this.show(this.router.current(), false);
  }

  private show(r: Route, moveFocus: boolean): void {
    if (this.shell === undefined || this.ctx === undefined) return;
    this.page?.dispose();
    const page = this.pageFor(r, this.ctx);
    this.page = page;
    this.shell.setSection(location.pathname);
    replace(this.shell.main, page.el);
    document.title = `${page.title} · ctm`;
    // After a navigation, a screen reader starts at the new page's heading.
    if (moveFocus) page.el.querySelector<HTMLElement>("h1")?.focus();
  }

  private pageFor(r: Route, ctx: PageContext): Page {
    switch (r.page) {
      case "keys":
        return new KeysPage(ctx, r.prefix);
      case "key":
        return new KeyPage(ctx, r.key);
      case "activity":
        return new ActivityPage(ctx, r.params);
      case "missing":
        return { el: h("section", {}, h("h1", { tabindex: -1 }, "Not found"), h("p", {}, `The console has no page at ${r.path}. `, h("a", { href: "/ui/keys" }, "Browse the keys"))), title: "Not found", dispose: () => undefined };
    }
  }
}
