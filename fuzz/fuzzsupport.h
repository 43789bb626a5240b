// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef FUZZSUPPORT_H
#define FUZZSUPPORT_H

#include <QtCore/qbytearray.h>
#include <QtCore/qbytearrayview.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qjsonvalue.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>
#include <QtCore/qstringconverter.h>

#include <cstdint>
#include <cstdio>
#include <optional>

// What the fuzz targets share: how an invariant fails, how an input is cut into parts,
// and the JSON helpers the checks need.
namespace FuzzSupport {

[[noreturn]] inline void fail(const char *condition, const char *file, int line,
                              const QByteArray &detail)
{
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n%s\n", file, line, condition,
                 detail.constData());
    std::fflush(stderr);
    // libFuzzer reports the trap as a crash and saves the input that caused it.
    __builtin_trap();
}

inline QByteArrayView view(const uint8_t *data, size_t size)
{
    return QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size));
}

// The input cut at its first count - 1 newlines: line-separated parts keep the corpus
// readable, and a newline cannot occur inside a JSON string, so a compact JSON document
// is never cut. Missing parts are absent from the list.
inline QList<QByteArrayView> splitLines(QByteArrayView input, qsizetype count)
{
    QList<QByteArrayView> parts;
    while (parts.size() < count - 1) {
        const qsizetype newline = input.indexOf('\n');
        if (newline < 0)
            break;
        parts.append(input.first(newline));
        input = input.sliced(newline + 1);
    }
    parts.append(input);
    return parts;
}

// The text of bytes that are valid UTF-8, byte for byte (an initial BOM included), or
// nothing when they are not.
inline std::optional<QString> strictUtf8(QByteArrayView bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8,
                           QStringDecoder::Flag::Stateless
                                   | QStringDecoder::Flag::ConvertInitialBom);
    QString text = decoder.decode(bytes);
    if (decoder.hasError())
        return std::nullopt;
    return text;
}

inline bool isValidUtf8(QByteArrayView bytes)
{
    return strictUtf8(bytes).has_value();
}

// The bytes read as UTF-16 code units in machine order, lone surrogates and all: text a
// QString can hold but no UTF-8 decoder produces.
inline QString rawUtf16(QByteArrayView bytes)
{
    QString text(bytes.size() / 2, Qt::Uninitialized);
    memcpy(text.data(), bytes.data(), size_t(text.size()) * sizeof(char16_t));
    return text;
}

// Whether Qt's JSON parser reads the text differently from what it says. Qt 6.4 drops a
// raw UTF-8 U+FEFF (EF BB BF) at the start of a string, and an object key read that way
// cannot be found again (QJsonObject::contains() and value() miss it). The escaped form
// \ufeff is read correctly; Qt's own writer emits the raw form. Checks that compare what
// was parsed with what was meant skip such texts.
inline bool qtJsonMisreads(QByteArrayView utf8)
{
    return utf8.contains(QByteArrayView("\xef\xbb\xbf"));
}

inline std::optional<QJsonDocument> parse(QByteArrayView json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json.toByteArray(), &error);
    if (error.error != QJsonParseError::NoError)
        return std::nullopt;
    return document;
}

// A JSON object, or an empty one when the text is anything else.
inline QJsonObject objectOrEmpty(QByteArrayView json)
{
    const std::optional<QJsonDocument> document = parse(json);
    return document && document->isObject() ? document->object() : QJsonObject();
}

// Any JSON value, scalars included; undefined when the text is not one value.
inline QJsonValue value(QByteArrayView json)
{
    QByteArray wrapped = "[";
    wrapped += json.toByteArray();
    wrapped += ']';
    const std::optional<QJsonDocument> document = parse(wrapped);
    if (!document || document->array().size() != 1)
        return QJsonValue(QJsonValue::Undefined);
    return document->array().first();
}

inline QByteArray show(const QJsonValue &value)
{
    if (value.isUndefined())
        return QByteArrayLiteral("(undefined)");
    return QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
}

} // namespace FuzzSupport

// Ends the run with a report when condition is false; detail (a QByteArray) is only
// evaluated then.
#define FUZZ_CHECK(condition, detail) \
    do { \
        if (!(condition)) \
            FuzzSupport::fail(#condition, __FILE__, __LINE__, (detail)); \
    } while (false)

#endif // FUZZSUPPORT_H
