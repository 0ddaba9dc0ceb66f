// The page's one way to the graph: the public GraphQL API at /graphql, over HTTP for
// reads and over graphql-transport-ws for the live timeline, with the visitor's token,
// so the server scopes and limits every answer as it does for any other client.
import { createClient } from "graphql-ws";

const ENDPOINT = new URL("/graphql", window.location.href);
const SOCKET = new URL(ENDPOINT);
SOCKET.protocol = ENDPOINT.protocol === "https:" ? "wss:" : "ws:";

/** What the server refused, by its error code (UNAUTHENTICATED, FORBIDDEN, …). */
export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }

  toString() {
    return `${this.code}: ${this.message}`;
  }
}

function refusal(errors) {
  const [first] = errors;
  return new ApiError(first.extensions?.code ?? "ERROR", first.message);
}

export class Api {
  /** `headers`: the Authorization header to send, or none. */
  constructor(headers) {
    this.headers = headers;
    this.socket = createClient({
      url: SOCKET.href,
      connectionParams: headers,
      retryAttempts: 3,
    });
  }

  /** The data of `query`; an ApiError when the server answers with any error. */
  async read(query, variables) {
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          ...this.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ApiError("UNREACHABLE", `the server did not answer (${error.message})`);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`HTTP ${response.status}`, response.statusText || "not a GraphQL answer");
    }
    if (body.errors?.length) throw refusal(body.errors);
    return body.data;
  }

  /** Calls `next` with each event of `subscription` until the returned function is called;
   * `failed` with an ApiError when the server refuses or ends it. */
  watch(subscription, variables, next, failed) {
    return this.socket.subscribe(
      { query: subscription, variables },
      {
        next: (result) => (result.errors ? failed(refusal(result.errors)) : next(result.data)),
        error: (error) => failed(Array.isArray(error) ? refusal(error) : socketError(error)),
        complete: () => {},
      },
    );
  }
}

function socketError(error) {
  // a CloseEvent: the server closes with 4401 when it refuses the token
  if (error?.code === 4401)
    return new ApiError("UNAUTHENTICATED", error.reason || "the token was refused");
  return new ApiError("LIVE_FEED", error?.reason || error?.message || "the live feed closed");
}

/** `api.read` for one view: an answer overtaken by a later read of the same view is dropped
 * (null), so a slider moved twice quickly never ends on the first date's answer. */
export function latest(api) {
  let last = 0;
  return async (query, variables) => {
    last += 1;
    const mine = last;
    const data = await api.read(query, variables);
    return mine === last ? data : null;
  };
}
