// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCAUTHORIZATIONREQUEST_H
#define QSTATESYNCAUTHORIZATIONREQUEST_H

#include "qstatesyncrequest.h"

#include <QtCore/qurl.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qhostaddress.h>

class QStateSyncAuthorizationRequestPrivate;

class Q_STATESYNC_EXPORT QStateSyncAuthorizationRequest : public QStateSyncRequest
{
    Q_OBJECT
    Q_PROPERTY(QUrl url READ url CONSTANT)
    Q_PROPERTY(QString clientIdentifier READ clientIdentifier CONSTANT)
    Q_PROPERTY(QString token READ token CONSTANT)
    Q_PROPERTY(QVariantMap headers READ headers CONSTANT)
    Q_PROPERTY(QString peerAddress READ peerAddressString CONSTANT)
    Q_PROPERTY(QVariantMap clientInformation READ clientInformation NOTIFY statusChanged)
    Q_PROPERTY(QVariantMap publicInformation READ publicInformation WRITE setPublicInformation
                       NOTIFY publicInformationChanged)

public:
    ~QStateSyncAuthorizationRequest() override;

    QUrl url() const;
    QString clientIdentifier() const;
    QString token() const;
    QVariantMap headers() const;
    QByteArray header(const QByteArray &name) const;
    QHostAddress peerAddress() const;
    QString peerAddressString() const;
    QVariantMap clientInformation() const;
    QVariantMap publicInformation() const;
    void setPublicInformation(const QVariantMap &information);

public Q_SLOTS:
    void accept(const QVariantMap &clientInformation = QVariantMap());

Q_SIGNALS:
    void publicInformationChanged();

private:
    friend class QStateSyncTransport;
    QStateSyncAuthorizationRequest(const QUrl &url,
                                   const QList<QPair<QByteArray, QByteArray>> &headers,
                                   const QHostAddress &peerAddress, QObject *parent);

    Q_DISABLE_COPY_MOVE(QStateSyncAuthorizationRequest)
    std::unique_ptr<QStateSyncAuthorizationRequestPrivate> const d;
};

#endif // QSTATESYNCAUTHORIZATIONREQUEST_H
