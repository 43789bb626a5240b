// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// The SQL of QStateSyncSqliteStorage, run on its own thread: the tables, reading the
// states back, and writing a batch in one transaction.

#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncsqlitestorage_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qdir.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qjsondocument.h>
#include <QtSql/qsqldatabase.h>
#include <QtSql/qsqlerror.h>
#include <QtSql/qsqlquery.h>

namespace {

// Raised when the tables change shape; a file from a newer version is not opened.
constexpr int SchemaVersion = 1;

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QString describe(const QSqlError &error)
{
    return error.text().isEmpty() ? QStringLiteral("unknown error") : error.text();
}

} // namespace

bool QStateSyncSqliteStoragePrivate::openDatabase(QSqlDatabase &database, QString *error)
{
    const QFileInfo info(fileName);
    if (!QDir().mkpath(info.absolutePath())) {
        *error = QStringLiteral("cannot create the directory %1").arg(info.absolutePath());
        return false;
    }
    database.setDatabaseName(fileName);
    if (!database.open()) {
        *error = QStringLiteral("cannot open %1: %2").arg(fileName, describe(database.lastError()));
        return false;
    }
    QSqlQuery query(database);
    const auto run = [&](const QString &statement) {
        if (query.exec(statement))
            return true;
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    };
    if (!run(QStringLiteral("PRAGMA user_version")) || !query.next()) {
        if (error->isEmpty())
            *error = QStringLiteral("%1 is not an SQLite database").arg(fileName);
        return false;
    }
    const int version = query.value(0).toInt();
    if (version > SchemaVersion) {
        *error = QStringLiteral("%1 was written by a newer QStateSync (schema %2)")
                         .arg(fileName)
                         .arg(version);
        return false;
    }
    const QString synchronous = holdsChanges() ? QStringLiteral("FULL") : QStringLiteral("NORMAL");
    return run(QStringLiteral("PRAGMA journal_mode=WAL"))
            && run(QStringLiteral("PRAGMA synchronous=") + synchronous)
            && run(QStringLiteral("PRAGMA busy_timeout=5000"))
            && run(QStringLiteral("CREATE TABLE IF NOT EXISTS states ("
                                  "identifier TEXT PRIMARY KEY, merge_mode INTEGER NOT NULL, "
                                  "created_at INTEGER NOT NULL, ttl_deadline INTEGER NOT NULL, "
                                  "snapshot BLOB NOT NULL, snapshot_version INTEGER NOT NULL)"))
            && run(QStringLiteral("CREATE TABLE IF NOT EXISTS changes ("
                                  "identifier TEXT NOT NULL, version INTEGER NOT NULL, "
                                  "kind INTEGER NOT NULL, changes BLOB NOT NULL, "
                                  "PRIMARY KEY (identifier, version)) WITHOUT ROWID"))
            && run(QStringLiteral("PRAGMA user_version=%1").arg(SchemaVersion));
}

bool QStateSyncSqliteStoragePrivate::load(QSqlDatabase &database,
                                          QList<QStateSyncStoredState> *states, QString *error)
{
    QSqlQuery query(database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT identifier, merge_mode, created_at, ttl_deadline, "
                                   "snapshot, snapshot_version FROM states ORDER BY identifier"))) {
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QHash<QString, qsizetype> indexOf;
    QStringList expired;
    while (query.next()) {
        QStateSyncStoredState state;
        state.identifier = query.value(0).toString();
        state.mergeMode = query.value(1).toInt() == int(QStateSync::MergeMode::Shallow)
                ? QStateSync::MergeMode::Shallow
                : QStateSync::MergeMode::Deep;
        state.createdAt = query.value(2).toLongLong();
        state.ttlDeadline = query.value(3).toLongLong();
        QJsonParseError parseError;
        const QJsonDocument snapshot
                = QJsonDocument::fromJson(query.value(4).toByteArray(), &parseError);
        if (!snapshot.isObject()) {
            *error = QStringLiteral("%1: the stored value of %2 is damaged: %3")
                             .arg(fileName, state.identifier, parseError.errorString());
            return false;
        }
        state.value = snapshot.object();
        state.version = query.value(5).toLongLong();
        if (state.ttlDeadline > 0 && state.ttlDeadline <= now) {
            expired.append(state.identifier);
            continue;
        }
        indexOf.insert(state.identifier, states->size());
        states->append(std::move(state));
    }

    if (!query.exec(QStringLiteral("SELECT identifier, version, kind, changes FROM changes "
                                   "ORDER BY identifier, version"))) {
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    }
    // A change that cannot be read, or that does not follow the one before, means a damaged
    // file: it is not opened, and not changed, so that nothing stored is lost.
    const auto damaged = [&](const QString &identifier, qint64 version, const QString &why) {
        *error = QStringLiteral("%1: change %2 of state %3 (the row of the table changes with "
                                "identifier '%3' and version %2) %4; nothing was changed: "
                                "repair or delete the row to open the file")
                         .arg(fileName)
                         .arg(version)
                         .arg(identifier, why);
        return false;
    };
    while (query.next()) {
        const QString identifier = query.value(0).toString();
        const qint64 version = query.value(1).toLongLong();
        const auto found = indexOf.constFind(identifier);
        if (found == indexOf.constEnd())
            continue; // an expired state's
        QStateSyncStoredState &state = (*states)[*found];
        if (version <= state.version)
            continue; // already in the snapshot
        if (version != state.version + 1) {
            return damaged(identifier, version,
                           QStringLiteral("does not follow version %1").arg(state.version));
        }
        QJsonParseError parseError;
        const QJsonDocument changes
                = QJsonDocument::fromJson(query.value(3).toByteArray(), &parseError);
        if (!changes.isObject()) {
            return damaged(identifier, version,
                           QStringLiteral("cannot be read: %1")
                                   .arg(parseError.error == QJsonParseError::NoError
                                                ? QStringLiteral("not a JSON object")
                                                : parseError.errorString()));
        }
        if (query.value(2).toInt() == int(QStateSyncUpdateRequest::Append))
            QStateSyncMerge::applyAppend(state.value, changes.object());
        else
            QStateSyncMerge::apply(state.value, changes.object(), state.mergeMode);
        state.version = version;
        ++state.replayedChanges;
    }
    query.finish();

    QSqlQuery cleanup(database);
    for (const QString &identifier : std::as_const(expired)) {
        qCInfo(lcStateSyncStorage).noquote()
                << "state" << loggable(identifier) << "expired while the server was stopped";
        cleanup.prepare(QStringLiteral("DELETE FROM states WHERE identifier = ?"));
        cleanup.addBindValue(identifier);
        cleanup.exec();
        cleanup.prepare(QStringLiteral("DELETE FROM changes WHERE identifier = ?"));
        cleanup.addBindValue(identifier);
        cleanup.exec();
    }
    return true;
}

bool QStateSyncSqliteStoragePrivate::writeBatch(QSqlDatabase &database,
                                                const std::deque<Write> &batch, QString *error)
{
    if (!database.transaction()) {
        *error = describe(database.lastError());
        return false;
    }
    QSqlQuery saveState(database), removeState(database), removeChanges(database),
            saveChange(database), saveSnapshot(database), dropChanges(database);
    const bool prepared
            = saveState.prepare(QStringLiteral(
                      "INSERT OR REPLACE INTO states (identifier, merge_mode, created_at, "
                      "ttl_deadline, snapshot, snapshot_version) VALUES (?, ?, ?, ?, ?, ?)"))
            && removeState.prepare(QStringLiteral("DELETE FROM states WHERE identifier = ?"))
            && removeChanges.prepare(QStringLiteral("DELETE FROM changes WHERE identifier = ?"))
            && saveChange.prepare(QStringLiteral("INSERT OR REPLACE INTO changes (identifier, "
                                                 "version, kind, changes) VALUES (?, ?, ?, ?)"))
            && saveSnapshot.prepare(QStringLiteral("UPDATE states SET snapshot = ?, "
                                                   "snapshot_version = ? WHERE identifier = ?"))
            && dropChanges.prepare(
                    QStringLiteral("DELETE FROM changes WHERE identifier = ? AND version <= ?"));
    QString failed;
    if (!prepared)
        failed = QStringLiteral("cannot prepare the statements");
    const auto exec = [&failed](QSqlQuery &query, const QVariantList &values) {
        if (!failed.isEmpty())
            return;
        for (qsizetype i = 0; i < values.size(); ++i)
            query.bindValue(int(i), values.at(i));
        if (!query.exec())
            failed = describe(query.lastError());
    };
    for (const Write &write : batch) {
        if (!failed.isEmpty())
            break;
        switch (write.type) {
        case Write::SaveState:
            exec(saveState,
                 {write.identifier, write.mergeMode, write.createdAt, write.ttlDeadline,
                  compact(write.value), write.version});
            exec(removeChanges, {write.identifier});
            break;
        case Write::RemoveState:
            exec(removeState, {write.identifier});
            exec(removeChanges, {write.identifier});
            break;
        case Write::Change:
            exec(saveChange, {write.identifier, write.version, write.kind, compact(write.value)});
            break;
        case Write::Snapshot:
            exec(saveSnapshot, {compact(write.value), write.version, write.identifier});
            exec(dropChanges, {write.identifier, write.version});
            break;
        }
    }
    for (QSqlQuery *query :
         {&saveState, &removeState, &removeChanges, &saveChange, &saveSnapshot, &dropChanges})
        query->finish();
    if (failed.isEmpty() && database.commit())
        return true;
    *error = failed.isEmpty() ? describe(database.lastError()) : failed;
    database.rollback();
    return false;
}
