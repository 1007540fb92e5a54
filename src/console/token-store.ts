const KEY = "ctm.console.token";

/**
 * The access token, kept for this tab only (sessionStorage: gone when the tab closes, never
 * shared with other tabs, never put in a URL where history or logs would keep it).
 */
export class TokenStore {
  get(): string | undefined {
    return sessionStorage.getItem(KEY) ?? undefined;
  }

  set(token: string): void {
    sessionStorage.setItem(KEY, token);
  }

  clear(): void {
    sessionStorage.removeItem(KEY);
  }
}
