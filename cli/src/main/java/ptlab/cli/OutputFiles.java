package ptlab.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** Writes {@code text} as UTF-8; a failure is one line naming the option, the file and the reason. */
    static void write(String option, Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PtlabException(option + " " + file + ": cannot write (" + TextInput.reason(e) + ")", e);
        }
    }
}
