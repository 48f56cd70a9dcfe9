package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ptlab.arch.Architectures;
import ptlab.check.Checker;

/**
 * Seeded fuzzing of the snapshot parsers and of the whole load-rebuild-analyze path: random
 * and mutated inputs either parse or fail with {@link SnapshotFormatException}, never with
 * anything else; a rebuild that succeeds leaves the machine checker-clean. Reproduce a failure
 * with the seed in its message ({@code -Dptlab.fuzz.seed=N}).
 */
class SnapshotFuzzTest {
    private static final long SEED = Long.getLong("ptlab.fuzz.seed", 20261121L);

    @TempDir
    Path tmp;

    private static final String[] TOKENS = {"-", " ", "\n", ":", "kB", "0", "ffffffffffffffff", "7fffffffffff", "800000000000",
            "rw-p", "---s", "VmFlags:", "VmPTE:", "AnonHugePages:", "KernelPageSize:", "1048576", "-1", "99999999999999999999", "\t",
            "\u0000", "\u00ff", "00:00", "[heap]", "ht", "pf", "nh", "hg"};

    /** A mutation of {@code s}: flipped bytes, deleted or duplicated spans and lines, truncation, inserted tokens. */
    static String mutate(String s, SplittableRandom rnd) {
        StringBuilder b = new StringBuilder(s);
        int n = 1 + rnd.nextInt(4);
        for (int k = 0; k < n && b.length() > 0; k++) {
            int at = rnd.nextInt(b.length());
            switch (rnd.nextInt(7)) {
                case 0:
                    b.setCharAt(at, (char) rnd.nextInt(256));
                    break;
                case 1:
                    b.delete(at, Math.min(b.length(), at + 1 + rnd.nextInt(20)));
                    break;
                case 2:
                    b.insert(at, TOKENS[rnd.nextInt(TOKENS.length)]);
                    break;
                case 3:
                    b.setLength(at);
                    break;
                case 4: {
                    int ls = b.lastIndexOf("\n", at) + 1;
                    int le = b.indexOf("\n", at);
                    if (le >= 0) {
                        b.insert(ls, b.substring(ls, le + 1));
                    }
                    break;
                }
                case 5: {
                    int ls = b.lastIndexOf("\n", at) + 1;
                    int le = b.indexOf("\n", at);
                    b.delete(ls, le < 0 ? b.length() : le + 1);
                    break;
                }
                default:
                    if (Character.isDigit(b.charAt(at)) || Character.isLetter(b.charAt(at))) {
                        b.setCharAt(at, "0123456789abcdefxyzG".charAt(rnd.nextInt(20)));
                    }
            }
        }
        return b.toString();
    }

    static String random(SplittableRandom rnd) {
        StringBuilder b = new StringBuilder();
        int n = rnd.nextInt(40);
        for (int i = 0; i < n; i++) {
            b.append(rnd.nextBoolean() ? TOKENS[rnd.nextInt(TOKENS.length)] : Character.toString((char) rnd.nextInt(128)));
        }
        return b.toString();
    }

    private static void parseOrClearError(String what, String input, long seed, BiFunction<String, String, Object> parser) {
        try {
            parser.apply(what, input);
        } catch (SnapshotFormatException e) {
            assertThat(e.getMessage()).startsWith(what).doesNotContain("\n");
        } catch (Throwable t) {
            fail("seed " + seed + ": " + what + " parser threw " + t + " for input:\n" + input, t);
        }
    }

    @Test
    void parsersFailOnlyWithTheClearError() throws Exception {
        Synthetic syn = Synthetic.mixed();
        List<String[]> bases = new ArrayList<>();
        bases.add(new String[] {syn.mapsText(), syn.smapsText(), syn.statusText()});
        Path self = Path.of("/proc/self");
        if (Files.isReadable(self.resolve("smaps"))) {
            bases.add(new String[] {read(self.resolve("maps")), read(self.resolve("smaps")), read(self.resolve("status"))});
        }
        SplittableRandom root = new SplittableRandom(SEED);
        for (int i = 0; i < 2000; i++) {
            long seed = root.nextLong();
            SplittableRandom rnd = new SplittableRandom(seed);
            String[] base = bases.get(rnd.nextInt(8) == 0 ? bases.size() - 1 : 0); // the big live files less often
            boolean fresh = rnd.nextInt(10) == 0;
            parseOrClearError("maps", fresh ? random(rnd) : mutate(base[0], rnd), seed, MapsParser::parse);
            parseOrClearError("smaps", fresh ? random(rnd) : mutate(base[1], rnd), seed, SmapsParser::parse);
            parseOrClearError("status", fresh ? random(rnd) : mutate(base[2], rnd), seed, StatusParser::parse);
        }
    }

    @Test
    void loadRebuildAnalyzeFailOnlyWithTheClearError() throws Exception {
        Synthetic syn = Synthetic.mixed();
        byte[] pagemap = syn.pagemapBytes();
        SplittableRandom root = new SplittableRandom(SEED ^ 0x5eed);
        int ok = 0;
        int rejected = 0;
        for (int i = 0; i < 200; i++) {
            long seed = root.nextLong();
            SplittableRandom rnd = new SplittableRandom(seed);
            Path dir = tmp.resolve("c" + i);
            Files.createDirectories(dir);
            int which = rnd.nextInt(5);
            write(dir, "maps", which == 0 ? mutate(syn.mapsText(), rnd) : syn.mapsText());
            write(dir, "smaps", which == 1 ? mutate(syn.smapsText(), rnd) : syn.smapsText());
            write(dir, "status", which == 2 ? mutate(syn.statusText(), rnd) : syn.statusText());
            Files.write(dir.resolve("pagemap"), which >= 3 ? mutatePagemap(pagemap, rnd) : pagemap);
            if (rnd.nextInt(20) == 0) {
                Files.delete(dir.resolve(List.of("maps", "smaps", "status", "pagemap").get(rnd.nextInt(4))));
            }
            try {
                Snapshot s = Snapshot.load(dir);
                Analysis a = Analysis.of(Rebuild.run(s, Architectures.defaultArch(), rnd.nextBoolean()));
                assertThat(Checker.check(a.rebuilt().kernel().pageTables())).as("seed " + seed).isEmpty();
                StringWriter out = new StringWriter();
                TextReport.print(new PrintWriter(out), a, List.of(), 5);
                HtmlReport.render(a, List.of(), 5);
                ok++;
            } catch (SnapshotFormatException e) {
                assertThat(e.getMessage()).as("seed " + seed).startsWith(dir.toString()).doesNotContain("\n");
                rejected++;
            } catch (Throwable t) {
                fail("seed " + seed + ": load/rebuild threw " + t, t);
            }
        }
        assertThat(ok).as("some mutants are still valid captures").isPositive();
        assertThat(rejected).as("some mutants are rejected").isPositive();
    }

    /** Flips entry bits (present, swapped, marker, random), or cuts or extends the file. */
    static byte[] mutatePagemap(byte[] pm, SplittableRandom rnd) {
        int k = rnd.nextInt(4);
        if (k == 0) {
            return java.util.Arrays.copyOf(pm, Math.max(0, pm.length - 1 - rnd.nextInt(64)));
        }
        if (k == 1) {
            return java.util.Arrays.copyOf(pm, pm.length + 1 + rnd.nextInt(64));
        }
        ByteBuffer b = ByteBuffer.wrap(pm.clone()).order(ByteOrder.LITTLE_ENDIAN);
        int n = 1 + rnd.nextInt(600);
        for (int i = 0; i < n; i++) {
            int at = rnd.nextInt(pm.length / 8) * 8;
            long v = k == 2 ? rnd.nextLong() : b.getLong(at) ^ (1L << (57 + rnd.nextInt(7)));
            b.putLong(at, v);
        }
        return b.array();
    }

    private static void write(Path dir, String name, String text) throws java.io.IOException {
        Files.writeString(dir.resolve(name), text, StandardCharsets.ISO_8859_1);
    }

    private static String read(Path p) throws java.io.IOException {
        return new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
    }
}
