import type { ApiClient } from "./api-client.js";
import type { WhoAmIResponse } from "./api-types.js";
import type { FeedState } from "./event-feed.js";

/** One screen of the console, mounted into the shell's main region. */
export interface Page {
  readonly el: HTMLElement;
  /** The document title while it shows. */
  readonly title: string;
  /** Stops its event feed and pending work. */
  dispose(): void;
}

/** What every page gets from the app. */
export interface PageContext {
  api: ApiClient;
  me: WhoAmIResponse;
  /** Goes to a console address without reloading. */
  navigate(href: string): void;
  /** Reports the page's live-update state to the shell. */
  live(s: FeedState): void;
}

/** Author of the records the console writes: the signed-in principal, as the server also records it. */
export const authorOf = (ctx: PageContext): string => (ctx.me.principal && ctx.me.principal !== "anonymous" ? ctx.me.principal : "console");
