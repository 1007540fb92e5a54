import { h } from "./dom.js";

/**
 * The sign-in form: a token, kept for this tab only. `submit` resolves an error message to show,
 * or undefined once signed in.
 */
export function loginPage(submit: (token: string) => Promise<string | undefined>, notice?: string): HTMLElement {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "token-help" });
  const problem = h("p", { class: "error", role: "alert", hidden: notice === undefined }, notice ?? "");
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "ctm console"),
    h("label", { for: "token" }, "Access token"),
    input,
    h("p", { id: "token-help", class: "hint" }, "A token from ", h("code", {}, "ctm token create"), ", or the admin token ctmd wrote to its data directory at first start. It is kept in this tab only."),
    problem,
    button,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    button.disabled = true;
    void submit(input.value.trim()).then((error) => {
      button.disabled = false;
      if (error === undefined) return;
      problem.textContent = error;
      problem.hidden = false;
      input.focus();
    });
  });
  queueMicrotask(() => input.focus());
  return h("main", { id: "main", class: "login-page" }, form);
}
