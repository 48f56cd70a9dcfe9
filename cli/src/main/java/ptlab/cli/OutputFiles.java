package ptlab.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import ptlab.PtlabException;
import ptlab.TextInput;

/**
 * Files a command writes ({@code --report}, {@code --html}, {@code --jfr}): checked before the
 * work starts, so a path that cannot be written costs one line and exit status 2, not a run.
 */
final class OutputFiles {
    private OutputFiles() {}

    /**
     * @throws PtlabException {@code OPTION FILE: reason} when {@code file} is empty, a directory,
     *     in a directory that does not exist, or not writable
     */
    static void checkWritable(String option, Path file) {
        if (file.toString().isEmpty()) {
            throw new PtlabException(option + ": empty file name");
        }
        String where = option + " " + file + ": ";
        if (Files.isDirectory(file)) {
            throw new PtlabException(where + "is a directory");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new PtlabException(where + "no such directory " + parent);
        }
        if (Files.exists(file) ? !Files.isWritable(file) : !Files.isWritable(parent)) {
            throw new PtlabException(where + "permission denied");
        }
    }

    /**
     * Writes {@code text} as UTF-8 to a temporary file beside {@code file}, then renames it over
     * {@code file}: a write that fails (a full disk) leaves no half-written page, and a reader
     * never sees one. A failure is one line naming the option, the file and the reason.
     */
    static void write(String option, Path file, String text) {
        Path abs = file.toAbsolutePath();
        Path tmp = null;
        try {
            // Not createTempFile: its 0600 would make a report others cannot read; this one gets the umask's mode.
            tmp = abs.resolveSibling("." + abs.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new PtlabException(option + " " + file + ": cannot write (" + TextInput.reason(e) + ")", e);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the write error being reported matters more
        }
    }
}
