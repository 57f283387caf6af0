/*
 * Writes manifest lists and manifests with Java Iceberg (the version tests/rck uses) for
 * tests/unit/test_manifest.c. Tables live in an InMemoryCatalog, so the files name only
 * s3://warehouse/... locations and nothing of the machine that made them.
 *
 *   cd tests/rck && mvn -o -q dependency:build-classpath -Dmdep.outputFile=cp.txt \
 *       -Dmdep.includeScope=test
 *   java -cp "$(cat tests/rck/cp.txt)" tests/unit/data/avro/MakeJavaManifests.java \
 *       tests/unit/data/avro
 *
 * Output: java-v2-manifest-list.avro (the last snapshot of a v2 table after an append, a
 * row delta with a position delete file and a delete of one data file), the manifests it
 * lists as java-v2-manifest-N.avro, and java-v3-manifest-list.avro with its manifest.
 */
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileMetadata;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.types.Types;

public class MakeJavaManifests {
    static final Schema SCHEMA = new Schema(
            Types.NestedField.required(1, "id", Types.LongType.get()),
            Types.NestedField.optional(2, "category", Types.StringType.get()));
    static final PartitionSpec SPEC = PartitionSpec.builderFor(SCHEMA).identity("category").build();

    static DataFile dataFile(String loc, String name, String category) {
        return DataFiles.builder(SPEC)
                .withPath(loc + "/data/category=" + category + "/" + name)
                .withFormat(FileFormat.PARQUET)
                .withPartitionPath("category=" + category)
                .withFileSizeInBytes(1234)
                .withRecordCount(10)
                .build();
    }

    static void copy(FileIO io, String location, Path out) throws Exception {
        try (InputStream in = io.newInputFile(location).newStream()) {
            Files.write(out, in.readAllBytes());
        }
        System.out.println("wrote " + out + " from " + location);
    }

    static void dump(Table table, Path dir, String prefix) throws Exception {
        FileIO io = table.io();
        copy(io, table.currentSnapshot().manifestListLocation(),
                dir.resolve(prefix + "-manifest-list.avro"));
        List<ManifestFile> manifests = table.currentSnapshot().allManifests(io);
        for (int i = 0; i < manifests.size(); i++)
            copy(io, manifests.get(i).path(), dir.resolve(prefix + "-manifest-" + i + ".avro"));
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("java", Map.of("warehouse", "s3://warehouse"));
        catalog.createNamespace(Namespace.of("db"));

        Table v2 = catalog.createTable(TableIdentifier.of("db", "events_v2"), SCHEMA, SPEC,
                Map.of("format-version", "2"));
        String loc = v2.location();
        DataFile a = dataFile(loc, "00000-0-a.parquet", "a");
        DataFile b = dataFile(loc, "00001-0-b.parquet", "b");
        DataFile c = dataFile(loc, "00002-0-c.parquet", "a");
        v2.newFastAppend().appendFile(a).appendFile(b).commit();
        v2.newFastAppend().appendFile(c).commit();
        DeleteFile pos = FileMetadata.deleteFileBuilder(SPEC)
                .ofPositionDeletes()
                .withPath(loc + "/data/category=a/00003-deletes.parquet")
                .withFormat(FileFormat.PARQUET)
                .withPartitionPath("category=a")
                .withFileSizeInBytes(300)
                .withRecordCount(1)
                .build();
        v2.newRowDelta().addDeletes(pos).commit();
        v2.newDelete().deleteFile(b).commit();
        dump(v2, dir, "java-v2");

        Table v3 = catalog.createTable(TableIdentifier.of("db", "events_v3"), SCHEMA, SPEC,
                Map.of("format-version", "3"));
        v3.newFastAppend().appendFile(dataFile(v3.location(), "00000-0-x.parquet", "x")).commit();
        dump(v3, dir, "java-v3");
    }
}
