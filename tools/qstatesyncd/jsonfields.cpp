// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "jsonfields.h"

#include <QtCore/qstringlist.h>

#include <cmath>

void ConfigError::report(const QString &path, const QString &message)
{
    if (isSet())
        return;
    m_message = path.isEmpty() ? message : path + QStringLiteral(": ") + message;
}

QString ConfigError::keyPath(const QString &path, const QString &key)
{
    return path.isEmpty() ? key : path + QLatin1Char('.') + key;
}

QString ConfigError::indexPath(const QString &path, qsizetype index)
{
    return path + QLatin1Char('[') + QString::number(index) + QLatin1Char(']');
}

QString jsonTypeName(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

std::optional<qint64> readInteger(const QJsonValue &value, const QString &path, qint64 minimum,
                                  qint64 maximum, ConfigError *error)
{
    const QString expected
            = QStringLiteral("must be a whole number from %1 to %2").arg(minimum).arg(maximum);
    if (!value.isDouble()) {
        error->report(path, expected + QStringLiteral(", not ") + jsonTypeName(value));
        return std::nullopt;
    }
    const double number = value.toDouble();
    if (!std::isfinite(number) || std::floor(number) != number || number < double(minimum)
        || number > double(maximum)) {
        error->report(path, expected + QStringLiteral(", not ") + QString::number(number));
        return std::nullopt;
    }
    return qint64(number);
}

JsonFields::JsonFields(const QJsonValue &value, const QString &path, ConfigError *error)
    : m_path(path)
    , m_error(error)
{
    if (!value.isObject()) {
        error->report(path, QStringLiteral("must be an object, not ") + jsonTypeName(value));
        return;
    }
    m_object = value.toObject();
    m_valid = true;
}

std::optional<QJsonValue> JsonFields::value(const QString &key)
{
    m_read.insert(key);
    const auto found = m_object.constFind(key);
    if (found == m_object.constEnd())
        return std::nullopt;
    return found.value();
}

std::optional<QString> JsonFields::string(const QString &key, bool allowEmpty)
{
    const std::optional<QJsonValue> found = value(key);
    if (!found)
        return std::nullopt;
    if (!found->isString()) {
        m_error->report(pathOf(key),
                        QStringLiteral("must be a string, not ") + jsonTypeName(*found));
        return std::nullopt;
    }
    if (!allowEmpty && found->toString().isEmpty()) {
        m_error->report(pathOf(key), QStringLiteral("must not be empty"));
        return std::nullopt;
    }
    return found->toString();
}

std::optional<bool> JsonFields::boolean(const QString &key)
{
    const std::optional<QJsonValue> found = value(key);
    if (!found)
        return std::nullopt;
    if (!found->isBool()) {
        m_error->report(pathOf(key),
                        QStringLiteral("must be true or false, not ") + jsonTypeName(*found));
        return std::nullopt;
    }
    return found->toBool();
}

std::optional<qint64> JsonFields::integer(const QString &key, qint64 minimum, qint64 maximum)
{
    const std::optional<QJsonValue> found = value(key);
    if (!found)
        return std::nullopt;
    return readInteger(*found, pathOf(key), minimum, maximum, m_error);
}

std::optional<double> JsonFields::number(const QString &key, double minimum, double maximum)
{
    const std::optional<QJsonValue> found = value(key);
    if (!found)
        return std::nullopt;
    const QString expected
            = QStringLiteral("must be a number from %1 to %2").arg(minimum).arg(maximum);
    if (!found->isDouble()) {
        m_error->report(pathOf(key), expected + QStringLiteral(", not ") + jsonTypeName(*found));
        return std::nullopt;
    }
    const double number = found->toDouble();
    if (!std::isfinite(number) || number < minimum || number > maximum) {
        m_error->report(pathOf(key), expected + QStringLiteral(", not ") + QString::number(number));
        return std::nullopt;
    }
    return number;
}

std::optional<QJsonObject> JsonFields::object(const QString &key)
{
    const std::optional<QJsonValue> found = value(key);
    if (!found)
        return std::nullopt;
    if (!found->isObject()) {
        m_error->report(pathOf(key),
                        QStringLiteral("must be an object, not ") + jsonTypeName(*found));
        return std::nullopt;
    }
    return found->toObject();
}

void JsonFields::rejectUnknownKeys()
{
    if (!m_valid)
        return;
    for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
        if (!m_read.contains(it.key()) && it.key() != QLatin1String("$comment")) {
            // The keys asked for are the ones this object knows: listing them turns a
            // typo into an obvious fix.
            QStringList known = m_read.values();
            known.sort();
            m_error->report(pathOf(it.key()),
                            QStringLiteral("unknown key (known here: %1)")
                                    .arg(known.join(QStringLiteral(", "))));
            return;
        }
    }
}
