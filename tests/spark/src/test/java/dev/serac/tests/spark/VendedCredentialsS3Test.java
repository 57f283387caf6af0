package dev.serac.tests.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Spark with S3FileIO and no S3 keys of its own: every read and write of table data uses the
 * credentials serac vends with LoadTable (X-Iceberg-Access-Delegation: vended-credentials), and
 * the endpoint, region and path style come from the table config too.
 *
 * Needs an S3 endpoint with STS, e.g. moto: SERAC_TEST_S3_ENDPOINT (scripts/moto-server.sh
 * prints it). The test creates a bucket and two warehouses on it through serac's management API
 * (static keys; STS AssumeRole), then creates, fills and reads a table in each through Spark.
 * Skipped when SERAC_TEST_S3_ENDPOINT is not set, or when the AWS SDK is not on the test class
 * path (the pom needs org.apache.iceberg:iceberg-aws-bundle for S3FileIO). The test itself only
 * uses Iceberg's and the JDK's API, so it compiles either way.
 *
 * System properties: catalog.uri (required).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VendedCredentialsS3Test {
    // The warehouses' keys: only serac has them. moto started by moto-server.sh takes any key.
    private static final String ADMIN_KEY = "AKIASERACSPARKTEST01";
    private static final String ADMIN_SECRET = "serac-spark-test-secret-" + UUID.randomUUID();
    private static final String ROLE_ARN = "arn:aws:iam::123456789012:role/serac-spark-vend";

    private final String suffix = UUID.randomUUID().toString().substring(0, 8);
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10)).build();
    private String catalogUri;
    private String endpoint;
    private String bucket;
    private FileIO admin; // S3FileIO with the warehouses' keys, to look into the bucket
    private SparkSession spark;

    @BeforeAll
    void setUp() throws Exception {
        endpoint = System.getenv("SERAC_TEST_S3_ENDPOINT");
        assumeTrue(endpoint != null && !endpoint.isEmpty(),
                "SERAC_TEST_S3_ENDPOINT is not set (start moto with scripts/moto-server.sh)");
        catalogUri = System.getProperty("catalog.uri", "http://127.0.0.1:8181").replaceAll("/+$", "");
        boolean sdk;
        try {
            Class.forName("software.amazon.awssdk.services.s3.S3Client");
            sdk = true;
        } catch (ClassNotFoundException e) {
            sdk = false;
        }
        assumeTrue(sdk, "the AWS SDK is not on the class path: add iceberg-aws-bundle to the pom");
        bucket = "serac-spark-" + suffix;
        // moto as moto-server.sh starts it accepts unsigned requests
        HttpResponse<String> made = http.send(HttpRequest.newBuilder()
                        .uri(URI.create(endpoint.replaceAll("/+$", "") + "/" + bucket))
                        .timeout(Duration.ofSeconds(30))
                        .PUT(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, made.statusCode(), "create bucket: " + made.body());
        admin = CatalogUtil.loadFileIO("org.apache.iceberg.aws.s3.S3FileIO", Map.of(
                "s3.endpoint", endpoint, "s3.path-style-access", "true",
                "client.region", "us-east-1", "s3.access-key-id", ADMIN_KEY,
                "s3.secret-access-key", ADMIN_SECRET), null);

        String staticWh = createWarehouse("spark_static_" + suffix, "static", "");
        String stsWh = createWarehouse("spark_sts_" + suffix, "sts",
                ", \"role-arn\": \"" + ROLE_ARN + "\", \"credential-duration-seconds\": 900");
        String noneWh = createWarehouse("spark_none_" + suffix, "none", "");

        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName("serac-spark-vended")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.sql.extensions",
                        "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions");
        for (String[] cat : new String[][] {{"vstatic", staticWh}, {"vsts", stsWh},
                                            {"vnone", noneWh}}) {
            String c = "spark.sql.catalog." + cat[0];
            b = b.config(c, "org.apache.iceberg.spark.SparkCatalog")
                    .config(c + ".type", "rest")
                    .config(c + ".uri", catalogUri)
                    .config(c + ".warehouse", cat[1])
                    .config(c + ".io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
                    .config(c + ".header.X-Iceberg-Access-Delegation", "vended-credentials")
                    .config(c + ".cache-enabled", "false");
        }
        spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
    }

    @AfterAll
    void tearDown() {
        if (spark != null) {
            spark.stop();
        }
        if (admin != null) {
            admin.close();
        }
    }

    /** POST /management/v1/warehouses: a warehouse on the test bucket vending `mode` keys. */
    private String createWarehouse(String name, String mode, String extra) throws Exception {
        String body = "{\"name\": \"" + name + "\", \"location\": \"s3://" + bucket + "/" + name
                + "\", \"storage\": {\"type\": \"s3\", \"endpoint\": \"" + endpoint
                + "\", \"region\": \"us-east-1\", \"access-key-id\": \"" + ADMIN_KEY
                + "\", \"secret-access-key\": \"" + ADMIN_SECRET
                + "\", \"vended-credentials\": \"" + mode + "\"" + extra + "}}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder()
                        .uri(URI.create(catalogUri + "/management/v1/warehouses"))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), "create warehouse " + name + ": " + r.body());
        assertFalse(r.body().contains(ADMIN_SECRET), "the secret is never shown");
        return name;
    }

    private List<String> rows(String q) {
        List<String> out = new ArrayList<>();
        for (Row r : spark.sql(q).collectAsList()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.length(); i++) {
                sb.append(i > 0 ? "|" : "").append(r.isNullAt(i) ? "null" : String.valueOf(r.get(i)));
            }
            out.add(sb.toString());
        }
        return out;
    }

    private List<String> keysUnder(String prefix) {
        String base = "s3://" + bucket + "/";
        List<String> out = new ArrayList<>();
        for (FileInfo f : ((SupportsPrefixOperations) admin).listPrefix(base + prefix)) {
            out.add(f.location().substring(base.length()));
        }
        return out.stream().sorted().collect(Collectors.toList());
    }

    private void roundTrip(String catalog, String warehouse) {
        String ns = catalog + ".vended_" + suffix;
        String t = ns + ".events";
        spark.sql("CREATE NAMESPACE " + ns);
        spark.sql("CREATE TABLE " + t + " (id BIGINT, category STRING) USING iceberg "
                + "PARTITIONED BY (category)");
        spark.sql("INSERT INTO " + t + " VALUES (1, 'a'), (2, 'b'), (3, 'a')");
        spark.sql("INSERT INTO " + t + " VALUES (4, 'c')");
        assertEquals(List.of("1|a", "2|b", "3|a", "4|c"),
                rows("SELECT id, category FROM " + t + " ORDER BY id"));
        spark.sql("DELETE FROM " + t + " WHERE id = 2");
        assertEquals(List.of("1|a", "3|a", "4|c"),
                rows("SELECT id, category FROM " + t + " ORDER BY id"));

        // the files really are in the bucket, under the table's location
        String prefix = warehouse + "/vended_" + suffix + "/events/";
        List<String> keys = keysUnder(prefix);
        assertTrue(keys.stream().anyMatch(k -> k.startsWith(prefix + "data/category=a/")
                && k.endsWith(".parquet")), "data files in s3://" + bucket + "/" + prefix + ": " + keys);
        assertTrue(keys.stream().anyMatch(k -> k.endsWith(".metadata.json")), keys.toString());
        List<String> files = rows("SELECT file_path FROM " + t + ".files");
        assertFalse(files.isEmpty());
        for (String f : files) {
            assertTrue(f.startsWith("s3://" + bucket + "/" + prefix), f);
            assertTrue(keys.contains(f.substring(("s3://" + bucket + "/").length())), f);
        }
        spark.sql("DROP TABLE " + t + " PURGE");
        spark.sql("DROP NAMESPACE " + ns);
    }

    /**
     * Control: a warehouse that vends nothing. serac still creates the table (it writes the
     * metadata with its own keys), but Spark has no keys to write data with, which proves the
     * other tests' Spark got its keys from serac and not from its environment.
     */
    @Test
    void noVendedCredentialsNoWrite() {
        String ns = "vnone.vended_" + suffix;
        spark.sql("CREATE NAMESPACE " + ns);
        spark.sql("CREATE TABLE " + ns + ".t (id BIGINT) USING iceberg");
        Exception e = assertThrows(Exception.class,
                () -> spark.sql("INSERT INTO " + ns + ".t VALUES (1)"));
        assertTrue(keysUnder("spark_none_" + suffix + "/vended_" + suffix + "/t/data/").isEmpty(),
                "no data may have been written: " + e);
        assertEquals(List.of(), rows("SELECT id FROM " + ns + ".t"));
    }

    @Test
    void staticVendedCredentials() {
        roundTrip("vstatic", "spark_static_" + suffix);
    }

    @Test
    void stsVendedCredentials() {
        roundTrip("vsts", "spark_sts_" + suffix);
    }
}
