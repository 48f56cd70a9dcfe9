package ptlab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Text files that ptlab reads (traces, scenarios): opened so that every failure is one line
 * naming the file and the reason, and lines checked for characters the languages do not have.
 *
 * <p>Design note: the files are decoded as UTF-8 with malformed bytes replaced by U+FFFD
 * rather than reported by the decoder, because the decoder's report has no line number and
 * fails the whole file; the kernel driver ({@code ktrace.c}) reads bytes and ignores anything
 * after {@code #}, so a Latin-1 byte in a comment must not stop a replay. A replacement
 * character (or any other character outside printable ASCII) in the text of a line is then
 * reported by the parser with its line ({@link #badCharacter}).
 */
public final class TextInput {
    private TextInput() {}

    /**
     * Opens {@code file} for reading as UTF-8 text.
     *
     * @throws PtlabException {@code FILE: reason}: an empty name, no such file, a directory,
     *     permission denied, or any other I/O failure
     */
    public static BufferedReader open(Path file) {
        String name = file.toString();
        if (name.isEmpty()) {
            throw new PtlabException("empty file name");
        }
        if (Files.isDirectory(file)) {
            throw new PtlabException(name + ": is a directory, not a file");
        }
        try {
            InputStream in = Files.newInputStream(file);
            return reader(in);
        } catch (NoSuchFileException e) {
            throw new PtlabException(name + ": no such file", e);
        } catch (IOException e) {
            throw new PtlabException(name + ": cannot read (" + reason(e) + ")", e);
        }
    }

    /** A UTF-8 reader of {@code in} that replaces malformed bytes by U+FFFD (see the class note). */
    public static BufferedReader reader(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE)));
    }

    /**
     * The reason of an I/O failure in words, without the path that the caller names anyway
     * ({@code AccessDeniedException}'s message is only the path).
     */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NotDirectoryException) {
            return "a part of the path is not a directory";
        }
        if (e instanceof CharacterCodingException) {
            return "not UTF-8 text";
        }
        if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
            return ((FileSystemException) e).getReason();
        }
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }

    /**
     * The first character of {@code text} that no ptlab language has (anything but printable
     * ASCII and tab), described for an error message, or {@code null} when there is none.
     */
    public static String badCharacter(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
                continue;
            }
            String what = c == '\uFFFD' ? "bytes that are not UTF-8 text"
                    : c == '\uFEFF' ? "a byte-order mark (U+FEFF)"
                    : String.format("character U+%04X", (int) c);
            return what + " at column " + (i + 1);
        }
        return null;
    }
}
