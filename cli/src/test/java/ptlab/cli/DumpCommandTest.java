package ptlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class DumpCommandTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new String[] {Integer.toString(rc), out.toString(), err.toString()};
    }

    @Test
    void x86KernelDumpShowsTheLinearMapAsOnePudRun() {
        String[] r = run("dump", "--ram", "4G");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("---[ Linear Mapping start ]---\n0xffff888000000000-0xffff888100000000        4G pud      RW NX GLB     AF NORMAL"), r[1]);
        assertTrue(r[1].endsWith("Checked W+X mappings: passed, no W+X pages found.\n"), r[1]);
    }

    @Test
    void arm64SplitShowsContiguousRunsBrokenAroundThePage() {
        String[] r = run("dump", "--arch", "arm64-4k-48", "--ram", "4G", "--split", "0x301000", "--level", "pte");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("0xffff000000300000-0xffff000000310000       64K pte      RW NX GLB     AF NORMAL"), r[1]);
        assertTrue(!r[1].contains(" pmd "), "--level pte shows PTE runs only");
    }

    @Test
    void efiDumpFindsTheWritableExecutablePages() {
        String[] r = run("dump", "--arch", "arm64-4k-48", "--ram", "1G", "--mm", "efi");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("Checked W+X mappings: FAILED, 8 W+X pages found."), r[1]);
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        for (String[] args : new String[][] {{"dump", "--ram", "4Q"}, {"dump", "--arch", "nope"}, {"dump", "--level", "7"},
                {"dump", "--mm", "bogus"}, {"dump", "--ram", "1000"}, {"dump", "--split", "0x123"}, {"dump", "--frob"}}) {
            String[] r = run(args);
            assertEquals("2", r[0], String.join(" ", args));
            assertEquals(1, r[2].lines().count(), r[2]);
            assertTrue(r[2].startsWith("ptlab: "), r[2]);
        }
    }
}
