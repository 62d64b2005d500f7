#!/usr/bin/env bash
# Deploys orderflow to the cluster of the current kubectl context and waits until it works:
# the Strimzi operator (installed when no cluster has one), Kafka, PostgreSQL, every
# service and the web UI; then prints where to open it.
#
#   deploy/k8s/deploy-all.sh kind        overlays/local; kind-cluster.yaml maps localhost:3000 and :8085
#   deploy/k8s/deploy-all.sh minikube    overlays/local; the UI at http://$(minikube ip):30000
#   ECR_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com deploy/k8s/deploy-all.sh eks
#                                        overlays/eks; images from ECR, the UI behind an ALB
#
# IMAGE_TAG (default 0.1.0) picks the images' tag; STRIMZI_VERSION (default 0.48.0) the operator's.
# The images must be in the cluster's reach first: make build-k8s K8S_TARGET=<target>.
set -euo pipefail
cd "$(dirname "$0")"

TARGET=${1:-${K8S_TARGET:-kind}}
NAMESPACE=orderflow
IMAGE_TAG=${IMAGE_TAG:-0.1.0}
STRIMZI_VERSION=${STRIMZI_VERSION:-0.48.0}
DEPLOYMENTS=(order-service inventory-service payment-service notification-service shipping-service status-service orchestrator-service frontend)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'deploy-all: %s\n' "$*" >&2; exit 1; }

case "$TARGET" in
  kind | minikube) OVERLAY=overlays/local; REGISTRY= ;;
  eks)
    OVERLAY=overlays/eks
    [ -n "${ECR_REGISTRY:-}" ] || fail "set ECR_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com (where make build-k8s K8S_TARGET=eks pushed the images)"
    REGISTRY="${ECR_REGISTRY%/}/" ;;
  *) fail "usage: $0 kind|minikube|eks" ;;
esac
command -v kubectl >/dev/null || fail "kubectl not found"
kubectl version --request-timeout=10s >/dev/null 2>&1 || fail "no cluster answers for context '$(kubectl config current-context 2>/dev/null || echo none)'"

step "deploying to context $(kubectl config current-context) ($TARGET, $OVERLAY, images ${REGISTRY}orderflow/*:${IMAGE_TAG})"
kubectl apply -f config/namespace.yaml

step "Strimzi operator"
operator=$(kubectl get deployment --all-namespaces --field-selector metadata.name=strimzi-cluster-operator -o jsonpath='{.items[0].metadata.namespace}' 2>/dev/null || true)
if [ -z "$operator" ]; then
  command -v curl >/dev/null || fail "curl not found (needed to fetch the Strimzi operator)"
  url="https://github.com/strimzi/strimzi-kafka-operator/releases/download/${STRIMZI_VERSION}/strimzi-cluster-operator-${STRIMZI_VERSION}.yaml"
  echo "installing Strimzi ${STRIMZI_VERSION} into namespace ${NAMESPACE} from ${url}"
  # Server-side: the CRDs are too large for client-side apply's annotation.
  curl -fsSL "$url" | sed "s/namespace: myproject/namespace: ${NAMESPACE}/" | kubectl apply --server-side --force-conflicts -n "$NAMESPACE" -f -
  operator=$NAMESPACE
elif [ "$operator" != "$NAMESPACE" ]; then
  echo "using the Strimzi operator in namespace ${operator}: it must watch ${NAMESPACE} too (STRIMZI_NAMESPACE)"
fi
kubectl -n "$operator" rollout status deployment/strimzi-cluster-operator --timeout=300s

# The services answer only to the host names in ALLOWED_HOSTS and take state-changing
# requests only from the pages in ALLOWED_ORIGINS (README "Security"): add the public ones.
allow_public_host() {
  local hosts
  hosts=$(kubectl -n "$NAMESPACE" get configmap orderflow-config -o jsonpath='{.data.ALLOWED_HOSTS}')
  for deployment in "${DEPLOYMENTS[@]}"; do
    [ "$deployment" = frontend ] && continue
    kubectl -n "$NAMESPACE" set env "deployment/${deployment}" "ALLOWED_HOSTS=${hosts},$1" "ALLOWED_ORIGINS=$2"
  done
}

step "orderflow resources"
kubectl kustomize "$OVERLAY" \
  | sed -e "s#image: orderflow/service:0.1.0#image: ${REGISTRY}orderflow/service:${IMAGE_TAG}#" \
        -e "s#image: orderflow/web:0.1.0#image: ${REGISTRY}orderflow/web:${IMAGE_TAG}#" \
  | kubectl apply -f -

if [ "$TARGET" = minikube ]; then
  # The page comes from the node's address: the status WebSocket is at the same address, on its NodePort.
  kubectl -n "$NAMESPACE" set env deployment/frontend "STATUS_PUBLIC_URL=ws://$(minikube ip):30085"
  allow_public_host "$(minikube ip)" "http://$(minikube ip):30000"
fi

step "waiting for Kafka (the first start pulls images: a few minutes)"
kubectl -n "$NAMESPACE" wait kafka/orderflow --for=condition=Ready --timeout=900s \
  || fail "Kafka is not ready: kubectl -n ${NAMESPACE} describe kafka orderflow; kubectl -n ${operator} logs deployment/strimzi-cluster-operator"

step "waiting for PostgreSQL"
kubectl -n "$NAMESPACE" rollout status statefulset/postgres --timeout=300s

if [ "$TARGET" = eks ]; then
  step "waiting for the load balancer's address"
  host=
  for _ in $(seq 1 60); do
    host=$(kubectl -n "$NAMESPACE" get ingress orderflow -o jsonpath='{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null || true)
    [ -n "$host" ] && break
    sleep 5
  done
  [ -n "$host" ] || fail "the Ingress has no address: is the AWS Load Balancer Controller installed? kubectl -n ${NAMESPACE} describe ingress orderflow"
  echo "$host"
  kubectl -n "$NAMESPACE" set env deployment/frontend "STATUS_PUBLIC_URL=ws://${host}"
  allow_public_host "$host" "http://${host}"
fi

step "waiting for the services and the web UI"
for deployment in "${DEPLOYMENTS[@]}"; do
  kubectl -n "$NAMESPACE" rollout status "deployment/${deployment}" --timeout=600s
done

step "orderflow is running"
case "$TARGET" in
  kind)
    echo "  web UI        http://localhost:3000"
    echo "  status API    http://localhost:8085/status   (WebSocket ws://localhost:8085/ws)" ;;
  minikube)
    ip=$(minikube ip)
    echo "  web UI        http://${ip}:30000"
    echo "  status API    http://${ip}:30085/status   (WebSocket ws://${ip}:30085/ws)" ;;
  eks)
    echo "  web UI        http://${host}"
    echo "  status API    http://${host}/status   (WebSocket ws://${host}/ws)" ;;
esac
echo "  every service on localhost (make test-order, make health-check): make port-forward"
