/// Documented input limits, enforced at the edge and in commands.
public enum Limits {
    /// Maximum title length in characters (extended grapheme clusters).
    public static let titleCharacters = 500
    /// Maximum title size in UTF-8 bytes (what is stored; 4 bytes per character on average).
    public static let titleBytes = 2_000
    /// Maximum description length in characters.
    public static let descriptionCharacters = 10_000
    /// Maximum description size in UTF-8 bytes.
    public static let descriptionBytes = 40_000
    /// Maximum number of ids in one bulk completion.
    public static let bulkIDs = 10_000
    /// Maximum user name length in characters.
    public static let userNameCharacters = 100
}
