// The GraphiQL page's script, bundled with everything it imports by tools/web/build, so
// the page needs nothing but the server it came from. The server puts what the page
// needs to know (the demo's headers, this response's style nonce) into a JSON block, read
// here: an inline script would need 'unsafe-inline' in the page's Content-Security-Policy.
// GraphiQL's dialogs add a <style> element while open; it carries the nonce (get-nonce is
// where the library that adds it looks), so the policy admits it and no other.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./page.css";
import { setNonce } from "get-nonce";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

const config = JSON.parse(document.getElementById("page-config").textContent);
setNonce(config.styleNonce);
const url = new URL(window.location.pathname, window.location.href);
const socket = new URL(url);
socket.protocol = url.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({
  url: url.href,
  subscriptionUrl: socket.href,
  headers: config.headers,
  wsConnectionParams: config.headers,
});

createRoot(document.getElementById("page")).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.query,
    defaultEditorToolsVisibility: true,
    inputValueDeprecation: true,
    shouldPersistHeaders: true,
  }),
);
