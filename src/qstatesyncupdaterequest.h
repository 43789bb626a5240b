// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCUPDATEREQUEST_H
#define QSTATESYNCUPDATEREQUEST_H

#include "qstatesyncrequest.h"

#include <QtCore/qjsonobject.h>
#include <QtCore/qvariant.h>

class QStateSyncUpdateRequestPrivate;

class Q_STATESYNC_EXPORT QStateSyncUpdateRequest : public QStateSyncRequest
{
    Q_OBJECT
    Q_PROPERTY(QString stateIdentifier READ stateIdentifier CONSTANT)
    Q_PROPERTY(QString clientIdentifier READ clientIdentifier CONSTANT)
    Q_PROPERTY(QVariantMap clientInformation READ clientInformation CONSTANT)
    Q_PROPERTY(Kind kind READ kind CONSTANT)
    Q_PROPERTY(bool serverSide READ isServerSide CONSTANT)
    Q_PROPERTY(QJsonObject updates READ updates WRITE setUpdates NOTIFY updatesChanged)
    Q_PROPERTY(QJsonObject appends READ appends WRITE setAppends NOTIFY appendsChanged)

public:
    enum Kind { Update, Append };
    Q_ENUM(Kind)

    ~QStateSyncUpdateRequest() override;

    QString stateIdentifier() const;
    QString clientIdentifier() const;
    QVariantMap clientInformation() const;
    Kind kind() const;
    bool isServerSide() const;

    QJsonObject updates() const;
    void setUpdates(const QJsonObject &updates);
    QJsonObject appends() const;
    void setAppends(const QJsonObject &appends);

public Q_SLOTS:
    void accept();

Q_SIGNALS:
    void updatesChanged();
    void appendsChanged();

private:
    friend class QStateSyncerPrivate;
    QStateSyncUpdateRequest(const QString &stateIdentifier, const QString &clientIdentifier,
                            const QVariantMap &clientInformation, Kind kind, bool serverSide,
                            const QJsonObject &changes, QObject *parent);

    Q_DISABLE_COPY_MOVE(QStateSyncUpdateRequest)
    std::unique_ptr<QStateSyncUpdateRequestPrivate> const d;
};

#endif // QSTATESYNCUPDATEREQUEST_H
