package dev.serac.tests.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Spark 3.5 with the Iceberg runtime against a live serac, through Iceberg's REST catalog
 * client (catalog name "serac"). One local-mode SparkSession serves every test; each test works
 * on tables of its own in the namespace created first, so a failure in one does not cascade.
 * Every step checks what a query returns, not only that it ran.
 *
 * System properties: catalog.uri (required), catalog.warehouse (default "default").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkCatalogTest {
    private static final String CAT = "serac";
    private static final String NS = CAT + ".spark_it";

    private SparkSession spark;

    @BeforeAll
    void startSpark() {
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        String uri = System.getProperty("catalog.uri", "http://127.0.0.1:8181");
        String warehouse = System.getProperty("catalog.warehouse", "default");
        String c = "spark.sql.catalog." + CAT;
        spark = SparkSession.builder()
                .master("local[2]")
                .appName("serac-spark-tests")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.extensions",
                        "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
                .config(c, "org.apache.iceberg.spark.SparkCatalog")
                .config(c + ".type", "rest")
                .config(c + ".uri", uri)
                .config(c + ".warehouse", warehouse)
                // every statement goes to the server rather than to a client-side cache
                .config(c + ".cache-enabled", "false")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        sql("CREATE NAMESPACE " + NS);
    }

    @AfterAll
    void stopSpark() {
        if (spark != null) {
            spark.stop();
        }
    }

    // -- helpers ---------------------------------------------------------------------------

    private List<Row> sql(String q) {
        return spark.sql(q).collectAsList();
    }

    /** The rows of a query, each rendered as its columns joined with "|" (null as "null"). */
    private List<String> rows(String q) {
        List<String> out = new ArrayList<>();
        for (Row r : sql(q)) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.length(); i++) {
                if (i > 0) {
                    sb.append('|');
                }
                sb.append(r.isNullAt(i) ? "null" : String.valueOf(r.get(i)));
            }
            out.add(sb.toString());
        }
        return out;
    }

    private long scalar(String q) {
        List<Row> r = sql(q);
        assertEquals(1, r.size(), "one row from " + q);
        return ((Number) r.get(0).get(0)).longValue();
    }

    /** The table's column names in order, from DESCRIBE (stops at the partitioning section). */
    private List<String> columns(String table) {
        List<String> out = new ArrayList<>();
        for (Row r : sql("DESCRIBE TABLE " + table)) {
            String name = r.getString(0);
            if (name == null || name.isEmpty() || name.startsWith("#")) {
                break;
            }
            out.add(name);
        }
        return out;
    }

    /** Snapshot ids of a table, oldest first. */
    private List<Long> snapshotIds(String table) {
        return sql("SELECT snapshot_id FROM " + table + ".snapshots ORDER BY committed_at")
                .stream().map(r -> r.getLong(0)).collect(Collectors.toList());
    }

    private static List<String> list(String... s) {
        return List.of(s);
    }

    private static Path localPath(String location) {
        URI u = URI.create(location);
        if (u.getScheme() == null) {
            return Paths.get(location);
        }
        assertEquals("file", u.getScheme(), "table location should be a file: URI: " + location);
        return Paths.get(u.getPath());
    }

    private static List<Path> regularFiles(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).collect(Collectors.toList());
        }
    }

    private String location(String table) {
        for (Row r : sql("DESCRIBE TABLE EXTENDED " + table)) {
            if ("Location".equals(r.getString(0))) {
                return r.getString(1).trim();
            }
        }
        throw new AssertionError("DESCRIBE TABLE EXTENDED " + table + " shows no Location");
    }

    private static String nowLiteral() {
        return "TIMESTAMP '" + new Timestamp(System.currentTimeMillis() + 1000) + "'";
    }

    // -- tests -----------------------------------------------------------------------------

    @Test
    @Order(1)
    void namespaces() {
        String ns = CAT + ".spark_ns_other";
        sql("CREATE NAMESPACE " + ns + " WITH DBPROPERTIES ('team' = 'spark-test')");
        List<String> all = rows("SHOW NAMESPACES IN " + CAT);
        assertTrue(all.contains("spark_it"), "SHOW NAMESPACES: " + all);
        assertTrue(all.contains("spark_ns_other"), "SHOW NAMESPACES: " + all);
        String props = rows("DESCRIBE NAMESPACE EXTENDED " + ns).toString();
        assertTrue(props.contains("team") && props.contains("spark-test"), props);
        sql("ALTER NAMESPACE " + ns + " SET DBPROPERTIES ('tier' = 'qa')");
        props = rows("DESCRIBE NAMESPACE EXTENDED " + ns).toString();
        assertTrue(props.contains("tier") && props.contains("qa"), props);
        sql("DROP NAMESPACE " + ns);
        assertFalse(rows("SHOW NAMESPACES IN " + CAT).contains("spark_ns_other"));
    }

    @Test
    @Order(2)
    void partitionedWritesAndRowLevelOperations() {
        String t = NS + ".events";
        sql("CREATE TABLE " + t + " (id BIGINT, ts TIMESTAMP, category STRING, amount DOUBLE) "
                + "USING iceberg PARTITIONED BY (days(ts), bucket(4, id)) "
                + "TBLPROPERTIES ('format-version' = '2', 'write.delete.mode' = 'merge-on-read', "
                + "'write.update.mode' = 'merge-on-read', 'write.merge.mode' = 'merge-on-read')");
        assertTrue(rows("SHOW TABLES IN " + NS).stream().anyMatch(r -> r.contains("|events|")),
                "SHOW TABLES lists events");
        sql("INSERT INTO " + t + " VALUES "
                + "(1, TIMESTAMP '2026-01-01 10:00:00', 'a', 1.0), "
                + "(2, TIMESTAMP '2026-01-02 10:00:00', 'b', -2.0), "
                + "(3, TIMESTAMP '2026-01-02 11:00:00', 'a', 3.0), "
                + "(4, TIMESTAMP '2026-01-03 12:00:00', 'c', 4.5)");
        assertEquals(list("1|2026-01-01 10:00:00.0|a|1.0", "2|2026-01-02 10:00:00.0|b|-2.0",
                        "3|2026-01-02 11:00:00.0|a|3.0", "4|2026-01-03 12:00:00.0|c|4.5"),
                rows("SELECT * FROM " + t + " ORDER BY id"));
        assertEquals(list("a|2|4.0", "b|1|-2.0", "c|1|4.5"),
                rows("SELECT category, count(*), sum(amount) FROM " + t
                        + " GROUP BY category ORDER BY category"));
        // the partition spec reached the server: the files are split by day and by id bucket
        assertEquals(list("2026-01-01", "2026-01-02", "2026-01-03"),
                rows("SELECT DISTINCT partition.ts_day FROM " + t + ".partitions ORDER BY 1"));
        String fn = CAT + ".system.";
        assertEquals(scalar("SELECT count(DISTINCT (" + fn + "days(ts), " + fn
                        + "bucket(4, id))) FROM " + t),
                scalar("SELECT count(*) FROM " + t + ".partitions"));
        assertEquals(0L, scalar("SELECT count(*) FROM " + t + ".partitions "
                + "WHERE partition.id_bucket < 0 OR partition.id_bucket > 3"));

        sql("MERGE INTO " + t + " d USING (SELECT 3L AS id, 30.0D AS amount "
                + "UNION ALL SELECT 5L, 5.0D) s ON d.id = s.id "
                + "WHEN MATCHED THEN UPDATE SET d.amount = s.amount "
                + "WHEN NOT MATCHED THEN INSERT (id, ts, category, amount) "
                + "VALUES (s.id, TIMESTAMP '2026-01-04 00:00:00', 'd', s.amount)");
        assertEquals(list("1|a|1.0", "2|b|-2.0", "3|a|30.0", "4|c|4.5", "5|d|5.0"),
                rows("SELECT id, category, amount FROM " + t + " ORDER BY id"));

        sql("UPDATE " + t + " SET category = 'z', amount = amount * 2 WHERE category = 'a'");
        assertEquals(list("1|z|2.0", "2|b|-2.0", "3|z|60.0", "4|c|4.5", "5|d|5.0"),
                rows("SELECT id, category, amount FROM " + t + " ORDER BY id"));

        sql("DELETE FROM " + t + " WHERE amount < 0 OR id = 4");
        assertEquals(list("1|z|2.0", "3|z|60.0", "5|d|5.0"),
                rows("SELECT id, category, amount FROM " + t + " ORDER BY id"));
        // merge-on-read wrote delete files, committed as their own snapshots
        assertTrue(scalar("SELECT count(*) FROM " + t + ".delete_files") > 0,
                "merge-on-read DELETE/UPDATE produced delete files");
        List<String> ops = rows("SELECT operation FROM " + t + ".snapshots ORDER BY committed_at");
        assertEquals(4, ops.size(), "one snapshot per statement: " + ops);
        assertEquals("append", ops.get(0), ops.toString());
    }

    @Test
    @Order(3)
    void schemaEvolution() {
        String t = NS + ".evolve";
        sql("CREATE TABLE " + t + " (id BIGINT, name STRING, junk INT, cnt INT) USING iceberg");
        sql("INSERT INTO " + t + " VALUES (1, 'one', 7, 1), (2, 'two', 8, 2)");
        sql("ALTER TABLE " + t + " ADD COLUMN note STRING");
        sql("ALTER TABLE " + t + " RENAME COLUMN name TO label");
        sql("ALTER TABLE " + t + " DROP COLUMN junk");
        assertEquals(list("id", "label", "cnt", "note"), columns(t));
        sql("INSERT INTO " + t + " VALUES (3, 'three', 3, 'new')");
        assertEquals(list("1|one|null", "2|two|null", "3|three|new"),
                rows("SELECT id, label, note FROM " + t + " ORDER BY id"));
        // the old name is gone: renames are by field id, not by name
        assertThrows(Exception.class, () -> sql("SELECT name FROM " + t));
        assertThrows(Exception.class, () -> sql("SELECT junk FROM " + t));
        // widen a type and add a column in the middle
        sql("ALTER TABLE " + t + " ALTER COLUMN cnt TYPE BIGINT");
        sql("ALTER TABLE " + t + " ADD COLUMN score DOUBLE AFTER id");
        assertEquals(list("id", "score", "label", "cnt", "note"), columns(t));
        sql("INSERT INTO " + t + " VALUES (4, 0.5, 'four', 5000000000, null)");
        assertEquals(list("1|null|one|1", "3|null|three|3", "4|0.5|four|5000000000"),
                rows("SELECT id, score, label, cnt FROM " + t + " WHERE id <> 2 ORDER BY id"));
    }

    @Test
    @Order(4)
    void partitionEvolution() {
        String t = NS + ".pevolve";
        sql("CREATE TABLE " + t + " (id BIGINT, ts TIMESTAMP, category STRING) USING iceberg "
                + "PARTITIONED BY (category)");
        sql("INSERT INTO " + t + " VALUES (1, TIMESTAMP '2026-02-01 01:00:00', 'a'), "
                + "(2, TIMESTAMP '2026-02-02 01:00:00', 'b')");
        sql("ALTER TABLE " + t + " ADD PARTITION FIELD bucket(4, id) AS id_b");
        sql("INSERT INTO " + t + " VALUES (3, TIMESTAMP '2026-02-03 01:00:00', 'a')");
        sql("ALTER TABLE " + t + " DROP PARTITION FIELD category");
        sql("ALTER TABLE " + t + " ADD PARTITION FIELD months(ts)");
        sql("INSERT INTO " + t + " VALUES (4, TIMESTAMP '2026-03-04 01:00:00', 'c')");
        assertEquals(list("1|a", "2|b", "3|a", "4|c"),
                rows("SELECT id, category FROM " + t + " ORDER BY id"));
        // every insert used the spec current at the time; each data file records its spec
        List<Long> specs = sql("SELECT d.id, f.spec_id FROM " + t + " d JOIN (SELECT file_path, "
                + "spec_id FROM " + t + ".files) f ON d._file = f.file_path ORDER BY d.id").stream()
                .map(r -> ((Number) r.get(1)).longValue()).collect(Collectors.toList());
        assertEquals(4, specs.size(), specs.toString());
        assertEquals(specs.get(0), specs.get(1), specs.toString());
        assertTrue(specs.get(0) < specs.get(2) && specs.get(2) < specs.get(3), specs.toString());
        assertEquals(list("1", "3"),
                rows("SELECT id FROM " + t + " WHERE category = 'a' ORDER BY id"));
        assertEquals(list("3", "4"),
                rows("SELECT id FROM " + t + " WHERE ts >= TIMESTAMP '2026-02-03 00:00:00' "
                        + "ORDER BY id"));
        // a fresh load sees the final spec: months(ts) and the bucket, no category
        List<String> partitioning = sql("DESCRIBE TABLE " + t).stream()
                .filter(r -> r.getString(0).startsWith("Part "))
                .map(r -> r.getString(1)).sorted().collect(Collectors.toList());
        assertEquals(list("bucket(4, id)", "months(ts)"), partitioning);
    }

    @Test
    @Order(5)
    void views() {
        String t = NS + ".view_base";
        String v = NS + ".v_big";
        sql("CREATE TABLE " + t + " (id BIGINT, amount DOUBLE) USING iceberg");
        sql("INSERT INTO " + t + " VALUES (1, 10.0), (2, 200.0), (3, 300.0)");
        sql("CREATE VIEW " + v + " (id, amount COMMENT 'big amounts') COMMENT 'only big rows' AS "
                + "SELECT id, amount FROM " + t + " WHERE amount > 100");
        assertEquals(list("2|200.0", "3|300.0"), rows("SELECT * FROM " + v + " ORDER BY id"));
        List<String> views = rows("SHOW VIEWS IN " + NS);
        assertTrue(views.stream().anyMatch(r -> r.contains("|v_big|")), "SHOW VIEWS: " + views);
        // a view is not a table
        assertFalse(rows("SHOW TABLES IN " + NS).stream().anyMatch(r -> r.contains("|v_big|")));
        // the view is stored as SQL, so it sees rows added later
        sql("INSERT INTO " + t + " VALUES (4, 400.0)");
        assertEquals(3L, scalar("SELECT count(*) FROM " + v));
        String ddl = rows("SHOW CREATE TABLE " + v).toString();
        assertTrue(ddl.contains("amount > 100"), ddl);
        sql("CREATE OR REPLACE VIEW " + v + " AS SELECT id FROM " + t + " WHERE amount < 100");
        assertEquals(list("1"), rows("SELECT * FROM " + v));
        sql("ALTER VIEW " + v + " SET TBLPROPERTIES ('team' = 'spark-test')");
        assertTrue(rows("SHOW TBLPROPERTIES " + v).contains("team|spark-test"));
        sql("DROP VIEW " + v);
        assertFalse(rows("SHOW VIEWS IN " + NS).stream().anyMatch(r -> r.contains("|v_big|")));
        assertThrows(Exception.class, () -> sql("SELECT * FROM " + v));
    }

    @Test
    @Order(6)
    void timeTravelTagsAndBranches() {
        String t = NS + ".history";
        sql("CREATE TABLE " + t + " (id BIGINT, s STRING) USING iceberg");
        sql("INSERT INTO " + t + " VALUES (1, 'a'), (2, 'b')");
        long first = snapshotIds(t).get(0);
        sql("INSERT INTO " + t + " VALUES (3, 'c')");
        sql("DELETE FROM " + t + " WHERE id = 1");
        assertEquals(list("2|b", "3|c"), rows("SELECT * FROM " + t + " ORDER BY id"));
        assertEquals(list("1|a", "2|b"),
                rows("SELECT * FROM " + t + " VERSION AS OF " + first + " ORDER BY id"));
        assertEquals(3, snapshotIds(t).size());

        sql("ALTER TABLE " + t + " CREATE TAG first_tag AS OF VERSION " + first);
        sql("ALTER TABLE " + t + " CREATE BRANCH dev");
        sql("INSERT INTO " + t + ".branch_dev VALUES (9, 'on-branch')");
        assertEquals(list("1|a", "2|b"),
                rows("SELECT * FROM " + t + " VERSION AS OF 'first_tag' ORDER BY id"));
        assertEquals(list("2|b", "3|c", "9|on-branch"),
                rows("SELECT * FROM " + t + ".branch_dev ORDER BY id"));
        assertEquals(list("2|b", "3|c"), rows("SELECT * FROM " + t + " ORDER BY id"));
        assertEquals(list("dev|BRANCH", "first_tag|TAG", "main|BRANCH"),
                rows("SELECT name, type FROM " + t + ".refs ORDER BY name"));
        assertEquals(first,
                scalar("SELECT snapshot_id FROM " + t + ".refs WHERE name = 'first_tag'"));
    }

    @Test
    @Order(7)
    void expireSnapshots() throws Exception {
        String t = NS + ".expiring";
        sql("CREATE TABLE " + t + " (id BIGINT, s STRING) USING iceberg");
        sql("INSERT INTO " + t + " VALUES (1, 'a')");
        sql("INSERT INTO " + t + " VALUES (2, 'b')");
        sql("INSERT OVERWRITE " + t + " VALUES (3, 'c'), (4, 'd')");
        List<Long> before = snapshotIds(t);
        assertEquals(3, before.size());
        Thread.sleep(50);
        List<Row> res = sql("CALL " + CAT + ".system.expire_snapshots("
                + "table => 'spark_it.expiring', "
                + "older_than => " + nowLiteral() + ", retain_last => 1)");
        assertEquals(1, res.size());
        // the two files of the replaced rows are no longer referenced by any snapshot
        assertEquals(2L, ((Number) res.get(0).getAs("deleted_data_files_count")).longValue(),
                res.get(0).toString());
        assertEquals(List.of(before.get(2)), snapshotIds(t));
        assertEquals(1L, scalar("SELECT count(*) FROM " + t + ".snapshots"));
        assertEquals(list("3|c", "4|d"), rows("SELECT * FROM " + t + " ORDER BY id"));
        // the expired snapshot can no longer be read
        long gone = before.get(0);
        assertThrows(Exception.class, () -> sql("SELECT * FROM " + t + " VERSION AS OF " + gone));
    }

    @Test
    @Order(8)
    void rewriteDataFiles() {
        String t = NS + ".compact";
        sql("CREATE TABLE " + t + " (id BIGINT, s STRING) USING iceberg");
        for (int i = 0; i < 4; i++) {
            sql("INSERT INTO " + t + " VALUES (" + (2 * i) + ", 'x" + i + "'), (" + (2 * i + 1)
                    + ", 'y" + i + "')");
        }
        List<String> before = rows("SELECT * FROM " + t + " ORDER BY id");
        assertEquals(8, before.size());
        long filesBefore = scalar("SELECT count(*) FROM " + t + ".files");
        assertTrue(filesBefore >= 4, "at least one file per insert, got " + filesBefore);
        List<Row> res = sql("CALL " + CAT + ".system.rewrite_data_files("
                + "table => 'spark_it.compact', "
                + "options => map('min-input-files', '2'))");
        assertEquals(1, res.size());
        assertEquals((int) filesBefore, ((Number) res.get(0).getAs("rewritten_data_files_count"))
                .intValue(), res.get(0).toString());
        assertEquals(1, ((Number) res.get(0).getAs("added_data_files_count")).intValue());
        assertEquals(1L, scalar("SELECT count(*) FROM " + t + ".files"));
        assertEquals(before, rows("SELECT * FROM " + t + " ORDER BY id"));
        assertEquals("replace",
                rows("SELECT operation FROM " + t + ".snapshots ORDER BY committed_at DESC LIMIT 1")
                        .get(0));
    }

    @Test
    @Order(9)
    void createTableAsSelectRenameAndProperties() {
        String src = NS + ".ctas_src";
        String t = NS + ".ctas";
        sql("CREATE TABLE " + src + " (id BIGINT, s STRING) USING iceberg");
        sql("INSERT INTO " + src + " VALUES (1, 'a'), (2, 'b'), (3, 'c')");
        sql("CREATE TABLE " + t + " USING iceberg PARTITIONED BY (s) AS SELECT * FROM " + src
                + " WHERE id < 3");
        assertEquals(list("1|a", "2|b"), rows("SELECT * FROM " + t + " ORDER BY id"));
        sql("REPLACE TABLE " + t + " USING iceberg AS SELECT id * 10 AS id FROM " + src);
        assertEquals(list("id"), columns(t));
        assertEquals(list("10", "20", "30"), rows("SELECT * FROM " + t + " ORDER BY id"));

        sql("ALTER TABLE " + t + " SET TBLPROPERTIES ('team' = 'spark-test', 'k' = 'v')");
        sql("ALTER TABLE " + t + " UNSET TBLPROPERTIES ('k')");
        List<String> props = rows("SHOW TBLPROPERTIES " + t);
        assertTrue(props.contains("team|spark-test"), props.toString());
        assertFalse(props.stream().anyMatch(p -> p.startsWith("k|")), props.toString());

        // the new name is relative to the catalog
        sql("ALTER TABLE " + t + " RENAME TO spark_it.ctas_renamed");
        assertEquals(list("10", "20", "30"),
                rows("SELECT * FROM " + NS + ".ctas_renamed ORDER BY id"));
        assertThrows(Exception.class, () -> sql("SELECT * FROM " + t));
    }

    @Test
    @Order(10)
    void dropTablePurge() throws Exception {
        String t = NS + ".doomed";
        sql("CREATE TABLE " + t + " (id BIGINT, s STRING) USING iceberg PARTITIONED BY (s)");
        sql("INSERT INTO " + t + " VALUES (1, 'a'), (2, 'b')");
        sql("INSERT INTO " + t + " VALUES (3, 'c')");
        Path dir = localPath(location(t));
        List<Path> files = regularFiles(dir);
        assertTrue(files.stream().anyMatch(p -> p.toString().endsWith(".parquet")),
                files.toString());
        assertTrue(files.stream().anyMatch(p -> p.toString().endsWith(".metadata.json")),
                files.toString());
        sql("DROP TABLE " + t + " PURGE");
        assertFalse(rows("SHOW TABLES IN " + NS).stream().anyMatch(r -> r.contains("|doomed|")));
        // the server may purge after answering: allow it a few seconds
        List<Path> left = regularFiles(dir);
        for (int i = 0; i < 50 && !left.isEmpty(); i++) {
            Thread.sleep(100);
            left = regularFiles(dir);
        }
        assertEquals(List.of(), left, "files left under " + dir + " after DROP TABLE PURGE");
        assertNotEquals(0, files.size());
    }
}
