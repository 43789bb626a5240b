// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef JWTVERIFIER_H
#define JWTVERIFIER_H

#include <QtCore/qbytearray.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qstringlist.h>

#include <chrono>

// Verifies JSON Web Tokens signed with HMAC-SHA256 (HS256, RFC 7519) and hands out their
// claims. Only HS256 is accepted: a token naming another algorithm, "none" included, is
// refused before its signature is looked at, so the header can never choose how the
// token is checked.
class JwtVerifier
{
public:
    struct Options
    {
        QByteArray secret;
        // Clock difference tolerated when checking "exp" and "nbf".
        std::chrono::seconds leeway{30};
        bool requireExpiry = false;
        // When set, "iss" must equal it.
        QString issuer;
        // When not empty, "aud" (a string or a list) must name one of them.
        QStringList audiences;
    };

    struct Result
    {
        bool valid = false;
        // Why the token was refused, short and safe to send to the client: it never
        // quotes the token.
        QString error;
        QJsonObject claims;
    };

    explicit JwtVerifier(Options options);

    Result verify(const QByteArray &token,
                  const QDateTime &now = QDateTime::currentDateTimeUtc()) const;

private:
    Options m_options;
};

#endif // JWTVERIFIER_H
