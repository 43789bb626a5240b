// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef JSONFIELDS_H
#define JSONFIELDS_H

#include <QtCore/qjsonobject.h>
#include <QtCore/qjsonvalue.h>
#include <QtCore/qset.h>
#include <QtCore/qstring.h>

#include <optional>

// The first mistake found in a configuration, with the path of the key it is about
// ("states[2].ttl"). Later mistakes are ignored: one precise message is more useful to
// someone editing a file than a cascade of consequences.
class ConfigError
{
public:
    void report(const QString &path, const QString &message);
    bool isSet() const { return !m_message.isEmpty(); }
    QString message() const { return m_message; }

    static QString keyPath(const QString &path, const QString &key);
    static QString indexPath(const QString &path, qsizetype index);

private:
    QString m_message;
};

// Reads one object of a configuration strictly: each getter checks the type of its key
// and reports a mistake by the key's path; rejectUnknownKeys() reports the first key no
// getter asked for, so a misspelt option is an error instead of being silently ignored.
// "$comment" keys are allowed everywhere, since JSON has no comments.
class JsonFields
{
public:
    JsonFields(const QJsonValue &value, const QString &path, ConfigError *error);

    bool isValid() const { return m_valid; }
    bool contains(const QString &key) const { return m_object.contains(key); }
    QString pathOf(const QString &key) const { return ConfigError::keyPath(m_path, key); }

    // Absent keys give std::nullopt without an error; a present key of the wrong type
    // gives std::nullopt and reports.
    std::optional<QJsonValue> value(const QString &key);
    std::optional<QString> string(const QString &key, bool allowEmpty = false);
    std::optional<bool> boolean(const QString &key);
    std::optional<qint64> integer(const QString &key, qint64 minimum, qint64 maximum);
    std::optional<double> number(const QString &key, double minimum, double maximum);
    std::optional<QJsonObject> object(const QString &key);

    void rejectUnknownKeys();

private:
    QJsonObject m_object;
    QString m_path;
    ConfigError *m_error;
    QSet<QString> m_read;
    bool m_valid = false;
};

// Reads value as a whole number in [minimum, maximum]; reports at path otherwise.
std::optional<qint64> readInteger(const QJsonValue &value, const QString &path, qint64 minimum,
                                  qint64 maximum, ConfigError *error);

QString jsonTypeName(const QJsonValue &value);

#endif // JSONFIELDS_H
