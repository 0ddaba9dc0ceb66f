// The Neo4j GraphQL Library serving contactgraph's Neo4j graph: the peer of bench/versus.py.
//
//   NEO4J_URI=bolt://127.0.0.1:7697 NEO4J_USER=neo4j NEO4J_PASSWORD=... node server.mjs [PORT]
//
// Apollo Server standalone on 127.0.0.1:PORT (or $PORT, default 4000), /graphql. A request
// with the header X-Debug-Round-Trips: 1 gets extensions.roundTrips, the Cypher statements
// it ran, as contactgraph reports its store calls. PEER_TCP_NODELAY=0 leaves Nagle on.
import net from "node:net";
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

// neo4j-driver 5 has no option for TCP_NODELAY: its Node channel opens Bolt sockets with
// net.connect (and only sets keep-alive). With Nagle on, a transaction's small messages
// wait for the previous ACK (delayed up to 40 ms on Linux loopback), so every socket the
// driver opens from here on gets setNoDelay(true). The Python driver sets TCP_NODELAY itself.
if (process.env.PEER_TCP_NODELAY !== "0") {
  const connect = net.connect;
  net.connect = (...args) => connect(...args).setNoDelay(true);
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 4000);
// the credentials contactgraph reads: CONTACTGRAPH_NEO4J_* first, then NEO4J_*
const env = process.env;
const driver = neo4j.driver(
  env.NEO4J_URI ?? "bolt://127.0.0.1:7687",
  neo4j.auth.basic(
    env.CONTACTGRAPH_NEO4J_USER || env.NEO4J_USER || "neo4j",
    env.CONTACTGRAPH_NEO4J_PASSWORD || env.NEO4J_PASSWORD || "",
  ),
);
const typeDefs = readFileSync(new URL("./schema.graphql", import.meta.url), "utf8");
const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();

// The library opens one session per statement it runs (classes/Executor.js driverRun): a
// driver that counts the sessions it hands out counts the statements.
function countingDriver(counter) {
  return {
    session: (config) => {
      counter.statements += 1;
      return driver.session(config);
    },
    executeQueryBookmarkManager: driver.executeQueryBookmarkManager,
  };
}

const roundTrips = {
  async requestDidStart({ contextValue }) {
    return {
      async willSendResponse({ response }) {
        const counter = contextValue.roundTrips;
        if (counter && response.body.kind === "single") {
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, roundTrips: counter.statements };
        }
      },
    };
  },
};

const server = new ApolloServer({ schema, plugins: [roundTrips] });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port },
  context: async ({ req }) => {
    if (req.headers["x-debug-round-trips"] !== "1") {
      return {};
    }
    const counter = { statements: 0 };
    return { roundTrips: counter, executionContext: countingDriver(counter) };
  },
});
console.log(`peer: ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    await driver.close();
    process.exit(0);
  });
}
