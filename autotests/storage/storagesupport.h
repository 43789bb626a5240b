// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef STORAGESUPPORT_H
#define STORAGESUPPORT_H

// What the storage suites share: a server with an SQLite storage, and connections of the
// test's own to the file, to read it as another process would or to break it.

#include "testsupport.h"

#include <QStateSyncSqliteStorage>

#include <QtCore/qtemporarydir.h>
#include <QtSql/qsqldatabase.h>
#include <QtSql/qsqlerror.h>
#include <QtSql/qsqlquery.h>

namespace StorageSupport {

using Durability = QStateSyncSqliteStorage::Durability;

// A server and its storage, destroyed server first, as an application would.
struct Node
{
    explicit Node(const QString &fileName, Durability durability = Durability::Batched,
                  int commitInterval = 100)
        : storage(std::make_unique<QStateSyncSqliteStorage>(fileName))
    {
        storage->setDurability(durability);
        storage->setCommitInterval(commitInterval);
        server = std::make_unique<QStateSyncer>();
        created = std::make_unique<QSignalSpy>(server.get(), &QStateSyncer::stateCreated);
        attached = server->setStorage(storage.get());
        if (!server->listen(QHostAddress::LocalHost, 0))
            qFatal("cannot listen");
    }
    ~Node()
    {
        created.reset();
        server.reset();
        storage.reset();
    }
    std::unique_ptr<QStateSyncSqliteStorage> storage;
    std::unique_ptr<QStateSyncer> server;
    std::unique_ptr<QSignalSpy> created;
    bool attached = false;
};

// A connection of the test's own to the storage's file, under a name no other uses.
class FileConnection
{
public:
    FileConnection(const QString &fileName, const QString &options)
        : m_name(QStringLiteral("test-connection-%1").arg(++s_count))
    {
        auto database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        database.setDatabaseName(fileName);
        database.setConnectOptions(options);
        m_open = database.open();
    }
    ~FileConnection() { QSqlDatabase::removeDatabase(m_name); }
    Q_DISABLE_COPY_MOVE(FileConnection)
    bool isOpen() const { return m_open; }

protected:
    QString m_name;

private:
    static inline int s_count = 0;
    bool m_open = false;
};

// Reads the file from a connection of its own, as another process would: only what was
// committed.
class FileReader : public FileConnection
{
public:
    explicit FileReader(const QString &fileName)
        : FileConnection(fileName, QStringLiteral("QSQLITE_OPEN_READONLY"))
    { }
    qint64 count(const QString &sql) const
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        if (!query.exec(sql) || !query.next())
            return -1;
        return query.value(0).toLongLong();
    }
    bool hasChange(const QString &state, qint64 version) const
    {
        return count(QStringLiteral("SELECT COUNT(*) FROM changes WHERE identifier = '%1' AND "
                                    "version = %2")
                             .arg(state)
                             .arg(version))
                == 1
                || count(QStringLiteral("SELECT COUNT(*) FROM states WHERE identifier = '%1' AND "
                                        "snapshot_version >= %2")
                                 .arg(state)
                                 .arg(version))
                == 1;
    }
};

// A connection that writes to the file while a storage uses it. A trigger that raises an
// error makes every write of the storage fail, as a full or broken disk would, until it is
// dropped.
class FileBreaker : public FileConnection
{
public:
    explicit FileBreaker(const QString &fileName)
        : FileConnection(fileName, QString())
    { }
    bool exec(const QString &sql)
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        if (query.exec(sql))
            return true;
        qWarning("%s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
        return false;
    }
    bool failWrites()
    {
        return isOpen()
                && exec(QStringLiteral("CREATE TRIGGER broken BEFORE INSERT ON changes BEGIN "
                                       "SELECT RAISE(ABORT, 'the disk is on fire'); END"));
    }
    bool mendWrites() { return exec(QStringLiteral("DROP TRIGGER broken")); }
};

} // namespace StorageSupport

#endif // STORAGESUPPORT_H
