// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "accessrules.h"
#include "jsonfields.h"

#include <QtCore/qjsonobject.h>

QRegularExpression statePatternExpression(const QString &pattern)
{
    QString expression;
    for (const QChar character : pattern) {
        if (character == QLatin1Char('*'))
            expression += QStringLiteral(".*");
        else if (character == QLatin1Char('?'))
            expression += QLatin1Char('.');
        else
            expression += QRegularExpression::escape(QString(character));
    }
    // DotMatchesEverything: state identifiers may hold line breaks; '*' covers them too.
    return QRegularExpression(QRegularExpression::anchoredPattern(expression),
                              QRegularExpression::DotMatchesEverythingOption);
}

namespace {
// The value of a claim at a dotted path ("realm_access.roles"); undefined when absent.
QJsonValue claimAt(const QJsonObject &claims, const QStringList &path)
{
    QJsonValue current = claims;
    for (const QString &part : path) {
        if (!current.isObject())
            return QJsonValue(QJsonValue::Undefined);
        current = current.toObject().value(part);
    }
    return current;
}

// A claim matches a value when it equals it or, for a list claim such as "roles", when
// the list holds it.
bool claimMatches(const QJsonValue &claim, const QJsonValue &expected)
{
    if (claim == expected)
        return true;
    if (!claim.isArray() || expected.isArray())
        return false;
    return claim.toArray().contains(expected);
}
} // namespace

bool AccessRules::Condition::holds(const QJsonObject &claims) const
{
    switch (kind) {
    case AllOf:
        return std::all_of(allOf.cbegin(), allOf.cend(),
                           [&](const Condition &condition) { return condition.holds(claims); });
    case Present: {
        const QJsonValue claim = claimAt(claims, claimPath);
        return (!claim.isUndefined() && !claim.isNull()) == present;
    }
    case Equals:
    case AnyOf: {
        const QJsonValue claim = claimAt(claims, claimPath);
        if (claim.isUndefined())
            return false;
        return std::any_of(values.cbegin(), values.cend(),
                           [&](const QJsonValue &value) { return claimMatches(claim, value); });
    }
    }
    return false;
}

bool AccessRules::Permission::grants(const QJsonObject &claims) const
{
    return everyone || std::any_of(anyOf.cbegin(), anyOf.cend(), [&](const Condition &condition) {
               return condition.holds(claims);
           });
}

bool AccessRules::allows(Action action, const QString &stateIdentifier, const QVariantMap &claims,
                         QString *decidedBy) const
{
    if (!m_configured) {
        if (decidedBy)
            *decidedBy = QStringLiteral("no access rules");
        return true;
    }
    for (qsizetype i = 0; i < m_entries.size(); ++i) {
        const Entry &entry = m_entries.at(i);
        const bool matches = std::any_of(entry.patterns.cbegin(), entry.patterns.cend(),
                                         [&](const QRegularExpression &pattern) {
                                             return pattern.match(stateIdentifier).hasMatch();
                                         });
        if (!matches)
            continue;
        if (decidedBy)
            *decidedBy = ConfigError::indexPath(QStringLiteral("access"), i);
        const Permission &permission = action == Action::Join ? entry.join : entry.write;
        return permission.grants(QJsonObject::fromVariantMap(claims));
    }
    // Rules that forgot a state keep it closed rather than open.
    if (decidedBy)
        *decidedBy = QStringLiteral("no access entry matches");
    return false;
}

std::optional<AccessRules> AccessRules::fromJson(const QJsonValue &value, const QString &path,
                                                 ConfigError *error)
{
    if (!value.isArray()) {
        error->report(path,
                      QStringLiteral("must be an array of entries, not ") + jsonTypeName(value));
        return std::nullopt;
    }
    AccessRules rules;
    rules.m_configured = true;
    const QJsonArray entries = value.toArray();
    for (qsizetype i = 0; i < entries.size(); ++i) {
        const QString entryPath = ConfigError::indexPath(path, i);
        JsonFields fields(entries.at(i), entryPath, error);
        if (!fields.isValid())
            return std::nullopt;
        Entry entry;
        const std::optional<QJsonValue> states = fields.value(QStringLiteral("states"));
        const QString statesPath = fields.pathOf(QStringLiteral("states"));
        if (!states) {
            error->report(statesPath,
                          QStringLiteral("is required: a state pattern or a list "
                                         "of them"));
            return std::nullopt;
        }
        const QJsonArray patterns = states->isArray() ? states->toArray() : QJsonArray{*states};
        if (patterns.isEmpty()) {
            error->report(statesPath, QStringLiteral("must name at least one pattern"));
            return std::nullopt;
        }
        for (qsizetype p = 0; p < patterns.size(); ++p) {
            const QJsonValue pattern = patterns.at(p);
            if (!pattern.isString() || pattern.toString().isEmpty()) {
                error->report(states->isArray() ? ConfigError::indexPath(statesPath, p)
                                                : statesPath,
                              QStringLiteral("must be a non-empty string pattern, not ")
                                      + jsonTypeName(pattern));
                return std::nullopt;
            }
            entry.patterns.append(statePatternExpression(pattern.toString()));
        }
        for (const auto &[key, permission] : {std::pair{QStringLiteral("join"), &entry.join},
                                              std::pair{QStringLiteral("write"), &entry.write}}) {
            if (const std::optional<QJsonValue> given = fields.value(key)) {
                const std::optional<Permission> read
                        = readPermission(*given, fields.pathOf(key), error);
                if (!read)
                    return std::nullopt;
                *permission = *read;
            }
        }
        fields.rejectUnknownKeys();
        if (error->isSet())
            return std::nullopt;
        rules.m_entries.append(entry);
    }
    return rules;
}

std::optional<AccessRules::Permission>
AccessRules::readPermission(const QJsonValue &value, const QString &path, ConfigError *error)
{
    Permission permission;
    if (value.isBool()) {
        permission.everyone = value.toBool();
        return permission;
    }
    if (!value.isArray()) {
        error->report(path,
                      QStringLiteral("must be true, false or a list of conditions, not ")
                              + jsonTypeName(value));
        return std::nullopt;
    }
    const QJsonArray conditions = value.toArray();
    for (qsizetype i = 0; i < conditions.size(); ++i) {
        const std::optional<Condition> condition
                = readCondition(conditions.at(i), ConfigError::indexPath(path, i), error);
        if (!condition)
            return std::nullopt;
        permission.anyOf.append(*condition);
    }
    return permission;
}

std::optional<AccessRules::Condition>
AccessRules::readCondition(const QJsonValue &value, const QString &path, ConfigError *error)
{
    JsonFields fields(value, path, error);
    if (!fields.isValid())
        return std::nullopt;
    Condition condition;
    if (const std::optional<QJsonValue> allOf = fields.value(QStringLiteral("allOf"))) {
        const QString allOfPath = fields.pathOf(QStringLiteral("allOf"));
        if (!allOf->isArray() || allOf->toArray().isEmpty()) {
            error->report(allOfPath, QStringLiteral("must be a non-empty list of conditions"));
            return std::nullopt;
        }
        condition.kind = Condition::AllOf;
        const QJsonArray parts = allOf->toArray();
        for (qsizetype i = 0; i < parts.size(); ++i) {
            const std::optional<Condition> part
                    = readCondition(parts.at(i), ConfigError::indexPath(allOfPath, i), error);
            if (!part)
                return std::nullopt;
            condition.allOf.append(*part);
        }
        fields.rejectUnknownKeys();
        return error->isSet() ? std::nullopt : std::optional<Condition>(condition);
    }

    const std::optional<QString> claim = fields.string(QStringLiteral("claim"));
    if (!claim) {
        error->report(fields.pathOf(QStringLiteral("claim")),
                      QStringLiteral("is required (or use \"allOf\")"));
        return std::nullopt;
    }
    condition.claimPath = claim->split(QLatin1Char('.'));
    if (condition.claimPath.contains(QString())) {
        error->report(fields.pathOf(QStringLiteral("claim")),
                      QStringLiteral("must be a claim name, or names joined by dots"));
        return std::nullopt;
    }
    const std::optional<QJsonValue> equals = fields.value(QStringLiteral("equals"));
    const std::optional<QJsonValue> anyOf = fields.value(QStringLiteral("anyOf"));
    const std::optional<bool> present = fields.boolean(QStringLiteral("present"));
    // A misspelt test ("equal") is named as such rather than reported as a missing one.
    fields.rejectUnknownKeys();
    if (error->isSet())
        return std::nullopt;
    if (int(bool(equals)) + int(bool(anyOf)) + int(bool(present)) != 1) {
        error->report(path,
                      QStringLiteral("needs exactly one of \"equals\", \"anyOf\" and "
                                     "\"present\" next to \"claim\""));
        return std::nullopt;
    }
    if (equals) {
        condition.kind = Condition::Equals;
        condition.values = {*equals};
    } else if (anyOf) {
        if (!anyOf->isArray() || anyOf->toArray().isEmpty()) {
            error->report(fields.pathOf(QStringLiteral("anyOf")),
                          QStringLiteral("must be a non-empty list of values"));
            return std::nullopt;
        }
        condition.kind = Condition::AnyOf;
        condition.values = anyOf->toArray();
    } else {
        condition.kind = Condition::Present;
        condition.present = *present;
    }
    return condition;
}
