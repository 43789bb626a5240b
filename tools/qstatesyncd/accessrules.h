// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef ACCESSRULES_H
#define ACCESSRULES_H

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonvalue.h>
#include <QtCore/qlist.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qstringlist.h>
#include <QtCore/qvariant.h>

#include <optional>

class ConfigError;

// The "access" list of the configuration: which clients, by the claims of their token,
// may join and write which states. Entries are tried in order and the first whose state
// patterns match decides. Without an access list everything is allowed; with one, a
// state that no entry matches is closed. doc/qstatesyncd.md describes the format.
class AccessRules
{
public:
    enum class Action { Join, Write };

    // An empty list of rules: everything is allowed.
    AccessRules() = default;

    // Reads the "access" value at path; reports the first mistake to error.
    static std::optional<AccessRules> fromJson(const QJsonValue &value, const QString &path,
                                               ConfigError *error);

    bool isConfigured() const { return m_configured; }

    // Whether a client with claims may take action on stateIdentifier. *decidedBy, when
    // given, names what decided ("access[2]", or "no entry") for the log.
    bool allows(Action action, const QString &stateIdentifier, const QVariantMap &claims,
                QString *decidedBy = nullptr) const;

private:
    struct Condition
    {
        enum Kind { Equals, AnyOf, Present, AllOf };
        Kind kind = Equals;
        QStringList claimPath;
        QJsonArray values;
        bool present = true;
        QList<Condition> allOf;

        bool holds(const QJsonObject &claims) const;
    };
    // Who may do something: everyone, or whoever satisfies one of the conditions (none:
    // nobody).
    struct Permission
    {
        bool everyone = false;
        QList<Condition> anyOf;

        bool grants(const QJsonObject &claims) const;
    };
    struct Entry
    {
        QList<QRegularExpression> patterns;
        Permission join;
        Permission write;
    };

    static std::optional<Permission> readPermission(const QJsonValue &value, const QString &path,
                                                    ConfigError *error);
    static std::optional<Condition> readCondition(const QJsonValue &value, const QString &path,
                                                  ConfigError *error);

    QList<Entry> m_entries;
    bool m_configured = false;
};

// A regular expression for a state pattern: '*' matches any run of characters, '?' one
// character, everything else itself.
QRegularExpression statePatternExpression(const QString &pattern);

#endif // ACCESSRULES_H
