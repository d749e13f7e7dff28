const reasons: Record<number, { title: string; text: string }> = {
  308: { title: 'Permanent Redirect', text: 'This site is served over HTTPS.' },
  404: { title: 'Not Found', text: 'No app is served at this address.' },
  429: { title: 'Too Many Requests', text: 'Too many requests from your address. Try again shortly.' },
  502: { title: 'Bad Gateway', text: 'The app could not be reached or closed the connection.' },
  503: { title: 'Service Unavailable', text: 'The app has no instance ready to serve. Try again shortly.' },
  504: { title: 'Gateway Timeout', text: 'The app did not answer in time.' },
};

/** A short HTML page for a status the edge itself answers; carries the request id, never internals. */
export function errorPage(status: number, requestId: string): string {
  const reason = reasons[status] ?? { title: 'Error', text: 'The request could not be served.' };
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${status} ${reason.title}</title></head>` +
    `<body><h1>${status} ${reason.title}</h1><p>${reason.text}</p>` +
    `<p><small>Request id: ${escapeHtml(requestId)}</small></p></body></html>\n`
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
