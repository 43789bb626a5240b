// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSQLITESTORAGE_H
#define QSTATESYNCSQLITESTORAGE_H

#include "qstatesyncstorage.h"

class QStateSyncSqliteStoragePrivate;

class Q_STATESYNC_EXPORT QStateSyncSqliteStorage : public QStateSyncStorage
{
    Q_OBJECT
    Q_PROPERTY(QString fileName READ fileName WRITE setFileName NOTIFY fileNameChanged)
    Q_PROPERTY(Durability durability READ durability WRITE setDurability NOTIFY durabilityChanged)
    Q_PROPERTY(int commitInterval READ commitInterval WRITE setCommitInterval NOTIFY
                       commitIntervalChanged)
    Q_PROPERTY(int maxPendingWrites READ maxPendingWrites WRITE setMaxPendingWrites NOTIFY
                       maxPendingWritesChanged)

public:
    enum class Durability { Batched, Durable };
    Q_ENUM(Durability)

    explicit QStateSyncSqliteStorage(QObject *parent = nullptr);
    explicit QStateSyncSqliteStorage(const QString &fileName, QObject *parent = nullptr);
    ~QStateSyncSqliteStorage() override;

    QString fileName() const;
    void setFileName(const QString &fileName);
    Durability durability() const;
    void setDurability(Durability durability);
    int commitInterval() const;
    void setCommitInterval(int milliseconds);
    int maxPendingWrites() const;
    void setMaxPendingWrites(int writes);

Q_SIGNALS:
    void fileNameChanged();
    void durabilityChanged();
    void commitIntervalChanged();
    void maxPendingWritesChanged();

private:
    Q_DISABLE_COPY_MOVE(QStateSyncSqliteStorage)
    QStateSyncSqliteStoragePrivate *d_func() const;
};

#endif // QSTATESYNCSQLITESTORAGE_H
