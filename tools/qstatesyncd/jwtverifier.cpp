// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "jwtverifier.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qmessageauthenticationcode.h>

#include <optional>
#include <utility>

namespace {
// RFC 7515 base64url, without padding: anything else (padding, whitespace, '+', '/')
// makes the token malformed rather than being decoded leniently into something else.
std::optional<QByteArray> decodeBase64Url(QByteArrayView part)
{
    for (const char character : part) {
        const bool allowed = (character >= 'A' && character <= 'Z')
                || (character >= 'a' && character <= 'z') || (character >= '0' && character <= '9')
                || character == '-' || character == '_';
        if (!allowed)
            return std::nullopt;
    }
    // A length of 1 modulo 4 cannot come from any byte sequence.
    if (part.size() % 4 == 1)
        return std::nullopt;
    auto decoded = QByteArray::fromBase64Encoding(
            part.toByteArray(),
            QByteArray::Base64UrlEncoding | QByteArray::AbortOnBase64DecodingErrors);
    if (decoded.decodingStatus != QByteArray::Base64DecodingStatus::Ok)
        return std::nullopt;
    return std::move(decoded.decoded);
}

std::optional<QJsonObject> decodeJsonObject(QByteArrayView part)
{
    const std::optional<QByteArray> bytes = decodeBase64Url(part);
    if (!bytes)
        return std::nullopt;
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    return document.object();
}

// Compares in time that depends only on the length, so an attacker cannot learn from
// the answer's timing how many leading bytes of a forged signature were right.
bool equalInConstantTime(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char difference = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned char>(a.at(i) ^ b.at(i));
    return difference == 0;
}

JwtVerifier::Result refused(const QString &reason)
{
    JwtVerifier::Result result;
    result.error = reason;
    return result;
}
} // namespace

JwtVerifier::JwtVerifier(Options options)
    : m_options(std::move(options))
{ }

JwtVerifier::Result JwtVerifier::verify(const QByteArray &token, const QDateTime &now) const
{
    const QList<QByteArray> parts = token.split('.');
    if (parts.size() != 3)
        return refused(QStringLiteral("malformed token"));

    const std::optional<QJsonObject> header = decodeJsonObject(parts.at(0));
    if (!header)
        return refused(QStringLiteral("malformed token"));
    if (header->value(QStringLiteral("alg")).toString() != QLatin1String("HS256"))
        return refused(QStringLiteral("unsupported algorithm (only HS256 is accepted)"));
    // "crit" names extensions the verifier must understand; this one understands none.
    if (header->contains(QStringLiteral("crit")))
        return refused(QStringLiteral("unsupported critical header"));

    const std::optional<QByteArray> signature = decodeBase64Url(parts.at(2));
    if (!signature)
        return refused(QStringLiteral("malformed token"));
    const QByteArray signingInput = parts.at(0) + '.' + parts.at(1);
    const QByteArray expected = QMessageAuthenticationCode::hash(signingInput, m_options.secret,
                                                                 QCryptographicHash::Sha256);
    if (!equalInConstantTime(*signature, expected))
        return refused(QStringLiteral("bad signature"));

    // Only a signed payload is parsed.
    const std::optional<QJsonObject> claims = decodeJsonObject(parts.at(1));
    if (!claims)
        return refused(QStringLiteral("malformed claims"));

    const double nowSeconds = double(now.toMSecsSinceEpoch()) / 1000.0;
    const double leeway = double(m_options.leeway.count());
    const QJsonValue expiry = claims->value(QStringLiteral("exp"));
    if (expiry.isUndefined()) {
        if (m_options.requireExpiry)
            return refused(QStringLiteral("token has no expiry"));
    } else if (!expiry.isDouble()) {
        return refused(QStringLiteral("malformed claims"));
    } else if (nowSeconds >= expiry.toDouble() + leeway) {
        return refused(QStringLiteral("token expired"));
    }
    const QJsonValue notBefore = claims->value(QStringLiteral("nbf"));
    if (!notBefore.isUndefined()) {
        if (!notBefore.isDouble())
            return refused(QStringLiteral("malformed claims"));
        if (nowSeconds + leeway < notBefore.toDouble())
            return refused(QStringLiteral("token not valid yet"));
    }
    if (!m_options.issuer.isEmpty()
        && claims->value(QStringLiteral("iss")).toString() != m_options.issuer) {
        return refused(QStringLiteral("wrong issuer"));
    }
    if (!m_options.audiences.isEmpty()) {
        const QJsonValue audience = claims->value(QStringLiteral("aud"));
        const QJsonArray audiences = audience.isArray() ? audience.toArray() : QJsonArray{audience};
        const bool matches = std::any_of(
                audiences.cbegin(), audiences.cend(), [this](const QJsonValue &value) {
                    return value.isString() && m_options.audiences.contains(value.toString());
                });
        if (!matches)
            return refused(QStringLiteral("wrong audience"));
    }

    Result result;
    result.valid = true;
    result.claims = *claims;
    return result;
}
