/**
 * Who wrote a record: the author the client chose and, with auth on, the principal ctmd
 * authenticated ("ana (token:ci-deploy)"). Only the principal is vouched for.
 */
export const who = (e: { author: string; principal: string }): string => (e.principal && e.principal !== e.author ? `${e.author} (${e.principal})` : e.author);
