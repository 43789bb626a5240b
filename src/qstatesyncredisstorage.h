// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCREDISSTORAGE_H
#define QSTATESYNCREDISSTORAGE_H

#include "qstatesyncstorage.h"

class QStateSyncRedisStoragePrivate;

class Q_STATESYNC_EXPORT QStateSyncRedisStorage : public QStateSyncStorage
{
    Q_OBJECT
    Q_PROPERTY(QString hostName READ hostName WRITE setHostName NOTIFY hostNameChanged)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged)
    Q_PROPERTY(QString keyPrefix READ keyPrefix WRITE setKeyPrefix NOTIFY keyPrefixChanged)
    Q_PROPERTY(QString nodeIdentifier READ nodeIdentifier WRITE setNodeIdentifier NOTIFY
                       nodeIdentifierChanged)
    Q_PROPERTY(bool connected READ isConnected NOTIFY connectedChanged)

public:
    explicit QStateSyncRedisStorage(QObject *parent = nullptr);
    ~QStateSyncRedisStorage() override;

    QString hostName() const;
    void setHostName(const QString &hostName);
    int port() const;
    void setPort(int port);
    QString keyPrefix() const;
    void setKeyPrefix(const QString &prefix);
    QString nodeIdentifier() const;
    void setNodeIdentifier(const QString &identifier);
    bool isConnected() const;

Q_SIGNALS:
    void hostNameChanged();
    void portChanged();
    void keyPrefixChanged();
    void nodeIdentifierChanged();
    void connectedChanged();

private:
    Q_DISABLE_COPY_MOVE(QStateSyncRedisStorage)
    QStateSyncRedisStoragePrivate *d_func() const;
};

#endif // QSTATESYNCREDISSTORAGE_H
