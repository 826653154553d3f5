import Foundation

/// Field rules for signup and profile changes; each failure names the field and says why.
public enum AccountValidation {
    /// Allowed loginId length.
    public static let loginIdLength = 3...32
    /// Allowed username length (characters, after trimming).
    public static let usernameLength = 1...50
    /// Minimum password length in characters.
    public static let passwordMinimumLength = 8
    /// bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so they are refused.
    public static let passwordMaximumBytes = 72

    /// Checks a loginId: 3–32 of `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
    public static func validateLoginId(_ value: String, field: String = "loginId") throws(APIError) {
        guard loginIdLength.contains(value.count) else {
            throw .invalidField(field, "must be \(loginIdLength.lowerBound) to \(loginIdLength.upperBound) characters")
        }
        guard value.unicodeScalars.allSatisfy({ isLoginIdCharacter($0) }) else {
            throw .invalidField(field, "may contain only letters A-Z a-z, digits, '.', '_' and '-'")
        }
        guard let first = value.unicodeScalars.first, isASCIIAlphanumeric(first) else {
            throw .invalidField(field, "must start with a letter or digit")
        }
    }

    /// Checks a display name: 1–50 characters after trimming, no control characters.
    public static func validateUsername(_ value: String, field: String = "username") throws(APIError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard usernameLength.contains(trimmed.count) else {
            throw .invalidField(field, "must be \(usernameLength.lowerBound) to \(usernameLength.upperBound) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidField(field, "must not contain control characters")
        }
        return trimmed
    }

    /// Password policy: at least 8 characters, at most 72 UTF-8 bytes, at least one letter and one digit.
    public static func validatePassword(_ value: String, field: String = "password") throws(APIError) {
        guard value.count >= passwordMinimumLength else {
            throw .invalidField(field, "must be at least \(passwordMinimumLength) characters")
        }
        guard value.utf8.count <= passwordMaximumBytes else {
            throw .invalidField(field, "must be at most \(passwordMaximumBytes) bytes")
        }
        guard value.contains(where: \.isLetter), value.contains(where: \.isNumber) else {
            throw .invalidField(field, "must contain at least one letter and one digit")
        }
        guard !value.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw .invalidField(field, "must not contain NUL characters")
        }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        default: false
        }
    }

    private static func isLoginIdCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-"
    }
}
