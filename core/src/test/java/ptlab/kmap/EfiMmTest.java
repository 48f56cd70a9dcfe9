package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.check.Checker;
import ptlab.cpu.LockProtocolError;

/** Seed 002: efi_mm tables are built with mm = NULL so apply_to_page_range can lock their PTEs. */
class EfiMmTest {
    private static final long REGION = 0x8000_0000L;

    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    @Test
    void specialMmTablesHavePtlocksAndPermissionsCanBeChanged() {
        KernelMappings km = Machines.boot(checked, "arm64-4k-48", 1L << 30);
        EfiMm efi = new EfiMm(km, true);
        assertTrue(efi.map(REGION, 64 << 12, PageProt.KERNEL_RWX, true).ok());
        assertTrue(efi.map(REGION + (1L << 30), 4L << 20, PageProt.KERNEL_RW, false).ok(), "data region with a block");
        assertTrue(efi.setPermissions(REGION, 16 << 12, true, false).ok());
        Translation t = Translations.translate(km.pageTables(), efi.mm(), REGION);
        assertFalse(((Translation.Mapped) t).prot().write());
        assertTrue(((Translation.Mapped) t).prot().exec());
        Translation u = Translations.translate(km.pageTables(), efi.mm(), REGION + (16 << 12));
        assertTrue(((Translation.Mapped) u).prot().write());
        assertEquals(ptlab.mm.Errno.EINVAL, efi.setPermissions(REGION + (1L << 30), 4096, true, true).errno(),
                "apply_to_page_range refuses a block");
    }

    @Test
    void skippingThePtlocksFailsInApplyToPageRange() {
        KernelMappings km = Machines.boot(checked, "arm64-4k-48", 1L << 30);
        checked.expect("ptlock");
        EfiMm efi = new EfiMm(km, false);
        assertTrue(efi.map(REGION, 64 << 12, PageProt.KERNEL_RWX, true).ok());
        LockProtocolError e = assertThrows(LockProtocolError.class, () -> efi.setPermissions(REGION, 16 << 12, true, false));
        assertTrue(e.getMessage().contains("has no ptlock"), e.getMessage());
        assertTrue(Checker.check(km.pageTables()).stream().anyMatch(v -> v.kind().equals("ptlock")));
    }
}
