package contactgraph;

import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;

/**
 * Runs Neo4j Community embedded, with Bolt on 127.0.0.1 and authentication on, until stopped.
 *
 * <p>Arguments: PORT DATA_DIR PASSWORD PAGECACHE_MIB. The password of the built-in user neo4j is
 * set at every start, so a data directory from an earlier run keeps working.
 */
public final class Neo4jLocal {
    private Neo4jLocal() {}

    public static void main(String[] args) throws InterruptedException {
        int port = Integer.parseInt(args[0]);
        Path data = Path.of(args[1]).toAbsolutePath();
        String password = args[2];
        long pageCache = Long.parseLong(args[3]) * 1024 * 1024;
        // transactions together may hold 60 % of the heap: past that a query fails with
        // MemoryPoolOutOfMemoryError instead of the JVM running out of memory and exiting
        // (the default, 70 %, let concurrent walks exhaust a small heap)
        long heap = Runtime.getRuntime().maxMemory();

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(data)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, heap * 3 / 5)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-local-shutdown"));
        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("neo4j-local: bolt on 127.0.0.1:" + port + ", data in " + data);
        Thread.currentThread().join();
    }

    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (QueryExecutionException e) {
            // a data directory from an earlier run already has this password
            if (!e.getMessage().contains("cannot be the same")) {
                throw e;
            }
        }
    }
}
