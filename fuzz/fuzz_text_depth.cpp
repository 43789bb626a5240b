// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Fuzzes textDepth(), which the server runs on every frame before the JSON parser sees
// it. The first byte of the input is a limit (0 to 255), the rest is the text.
//
// Each view is handed over in a buffer of exactly its size, so AddressSanitizer sees any
// read past its end. The depth must not depend on the limit other than by stopping at
// limit + 1, must be the same for the UTF-8 and UTF-16 forms of a text, and must be the
// parsed document's depth whenever the parser accepts the text.

#include "fuzzsupport.h"

#include "qstatesyncmerge_p.h"

#include <limits>
#include <memory>

using QStateSyncMerge::textDepth;

namespace {

constexpr int NoLimit = std::numeric_limits<int>::max();

QByteArray detail(QByteArrayView text, int limit)
{
    return "limit " + QByteArray::number(limit) + ", text " + text.toByteArray().toHex();
}

// Every limit stops the count at limit + 1 and changes nothing else.
template<typename View>
void checkLimits(View text, int depth, int firstLimit, const QByteArray &shownText)
{
    for (const int limit : {firstLimit, 0, 1, 64, depth, depth - 1, depth + 1}) {
        if (limit < 0)
            continue;
        const int expected = depth > limit ? limit + 1 : depth;
        FUZZ_CHECK(textDepth(text, limit) == expected,
                   "depth " + QByteArray::number(depth) + ", " + detail(shownText, limit));
    }
}

// textDepth() of text as UTF-16, from a buffer of exactly its length.
int utf16Depth(const QString &text, int limit)
{
    const std::unique_ptr<char16_t[]> exact(new char16_t[size_t(text.size())]);
    std::copy(text.utf16(), text.utf16() + text.size(), exact.get());
    return textDepth(QStringView(exact.get(), text.size()), limit);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const int firstLimit = data[0];
    const QByteArrayView text = FuzzSupport::view(data + 1, size - 1);
    const QByteArray shown = text.toByteArray();

    const int depth = textDepth(text, NoLimit);
    FUZZ_CHECK(depth >= 0 && depth <= text.size(), detail(text, NoLimit));
    checkLimits(text, depth, firstLimit, shown);

    // The UTF-16 forms count the same: brackets, quotes and backslashes are ASCII, which
    // UTF-8 and UTF-16 encode alike and no other character's encoding contains.
    for (const QString &utf16 : {QString::fromUtf8(text), FuzzSupport::rawUtf16(text)}) {
        const QByteArray utf8 = utf16.toUtf8();
        const int expected = textDepth(QByteArrayView(utf8), NoLimit);
        FUZZ_CHECK(utf16Depth(utf16, NoLimit) == expected, detail(utf8, NoLimit));
        FUZZ_CHECK(utf16Depth(utf16, firstLimit)
                           == (expected > firstLimit ? firstLimit + 1 : expected),
                   detail(utf8, firstLimit));
        checkLimits(QStringView(utf16), expected, firstLimit, utf8);
    }
    FUZZ_CHECK(utf16Depth(QString::fromUtf8(text), NoLimit) == depth
                       || !FuzzSupport::isValidUtf8(text),
               detail(text, NoLimit));

    // Where the parser accepts the text, its nesting is the parsed document's.
    if (const std::optional<QJsonDocument> document = FuzzSupport::parse(text)) {
        const int parsed = document->isArray()
                ? QStateSyncMerge::depth(QJsonValue(document->array()))
                : QStateSyncMerge::depth(QJsonValue(document->object()));
        FUZZ_CHECK(parsed == depth,
                   "parsed depth " + QByteArray::number(parsed) + ", " + detail(text, NoLimit));
    }
    return 0;
}
