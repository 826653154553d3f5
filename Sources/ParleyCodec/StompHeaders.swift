/// Ordered header list that keeps repeated names.
///
/// STOMP says that when a header repeats, only the first value counts; the others are still delivered, so the
/// list keeps them (in wire order) and `subscript` answers with the first.
public struct StompHeaders: Sequence, Hashable, Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One header line. Tuples are not Hashable, so storage uses this struct.
    @usableFromInline
    struct Field: Hashable, Sendable {
        @usableFromInline var name: String
        @usableFromInline var value: String

        @inlinable init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    @usableFromInline
    var fields: [Field]

    /// An empty header list.
    @inlinable
    public init() {
        fields = []
    }

    /// Headers in the given order, repeats kept.
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// Headers in literal order, repeats kept.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    @inlinable
    init(fields: [Field]) {
        self.fields = fields
    }

    /// The first value of `name`. Setting replaces the first occurrence (or appends); `nil` removes every occurrence.
    public subscript(name: String) -> String? {
        get {
            for field in fields where field.name == name {
                return field.value
            }
            return nil
        }
        set {
            guard let newValue else {
                fields.removeAll { $0.name == name }
                return
            }
            if let index = fields.firstIndex(where: { $0.name == name }) {
                fields[index].value = newValue
            } else {
                fields.append(Field(name: name, value: newValue))
            }
        }
    }

    /// Appends a header line, keeping any earlier line with the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Every value of `name`, in wire order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    /// Number of header lines, repeats included.
    public var count: Int { fields.count }

    /// Whether there is no header line.
    public var isEmpty: Bool { fields.isEmpty }

    /// Iterates `(name, value)` pairs in wire order.
    public struct Iterator: IteratorProtocol {
        @usableFromInline var base: IndexingIterator<[Field]>

        @inlinable init(base: IndexingIterator<[Field]>) {
            self.base = base
        }

        /// The next header line.
        @inlinable
        public mutating func next() -> (name: String, value: String)? {
            guard let field = base.next() else { return nil }
            return (field.name, field.value)
        }
    }

    /// Iterates the header lines in wire order.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(base: fields.makeIterator())
    }

    /// `name:value` lines, for logs; credentials (`passcode`, `Authorization`) are replaced by `***`.
    public var description: String {
        "[" + fields.map { field in
            let secret = ["passcode", "authorization"].contains(field.name.lowercased())
            return "\(field.name):\(secret ? "***" : field.value)"
        }.joined(separator: ", ") + "]"
    }
}
