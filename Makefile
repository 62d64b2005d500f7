# Document 001's targets; see README.md. Local: Docker Compose when a Docker engine answers,
# else the npm scripts. Kubernetes: deploy/k8s.
PID_FILE := data/orderflow.pid
LOG_FILE := data/orderflow.log
ORDER_URL ?= http://localhost:$(or $(ORDER_SERVICE_PORT),8080)
INVENTORY_URL ?= http://localhost:$(or $(INVENTORY_SERVICE_PORT),8081)
STATUS_URL ?= http://localhost:$(or $(STATUS_SERVICE_PORT),8085)
# The bearer token test-order and test-status send: TOKEN when set (from your issuer), else one
# from npm start's development issuer (npm run token); none when neither answers (development mode).
TOKEN ?=
CUSTOMER ?= make-test
PORTS := $(or $(ORDER_SERVICE_PORT),8080) $(or $(INVENTORY_SERVICE_PORT),8081) $(or $(PAYMENT_SERVICE_PORT),8082) \
         $(or $(NOTIFICATION_SERVICE_PORT),8083) $(or $(SHIPPING_SERVICE_PORT),8084) $(or $(STATUS_SERVICE_PORT),8085)

# Images and Kubernetes (deploy/k8s; README "Deployment").
IMAGE_TAG ?= 0.1.0
SERVICE_IMAGE ?= orderflow/service:$(IMAGE_TAG)
WEB_IMAGE ?= orderflow/web:$(IMAGE_TAG)
# e.g. --platform=linux/amd64 when building on an arm64 machine for amd64 nodes
DOCKER_BUILD_FLAGS ?=
# kind | minikube | eks (eks: also ECR_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com)
K8S_TARGET ?= kind
KIND_CLUSTER ?= orderflow
ECR_REGISTRY ?=
K8S_NAMESPACE := orderflow
K8S_OVERLAY := deploy/k8s/overlays/$(if $(filter eks,$(K8S_TARGET)),eks,local)
FRONTEND_URL ?= http://localhost:$(or $(FRONTEND_PORT),3000)
# auto: Docker Compose when a Docker engine answers, else npm start in the background. Or compose, or npm.
LOCAL_MODE ?= auto
# The Compose command to use, empty when run-local should use npm (evaluated only where used).
COMPOSE = $(shell if [ "$(LOCAL_MODE)" != npm ] && docker info >/dev/null 2>&1; then \
            if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
            elif docker-compose version >/dev/null 2>&1; then echo docker-compose; fi; fi)

.PHONY: install run-local run-local-npm stop-local stop-local-npm logs-local test-order test-inventory test-status health-check test bench reset \
        build-local build-k8s deploy-k8s clean-k8s port-forward open-frontend

install:
	npm install

run-local: ## start everything: Docker Compose when a Docker engine answers (LOCAL_MODE=npm: npm start in the background)
	@compose="$(COMPOSE)"; \
	if [ -z "$$compose" ]; then \
	  if [ "$(LOCAL_MODE)" = compose ]; then echo "LOCAL_MODE=compose, but no Docker engine answers (docker info)"; exit 1; fi; \
	  $(MAKE) --no-print-directory run-local-npm; \
	else \
	  echo "starting with $$compose: Kafka, PostgreSQL, Kafka UI, every service, the web UI (the first run builds the images)"; \
	  $$compose up -d || exit 1; \
	  for i in $$(seq 1 150); do curl -sf $(STATUS_URL)/ready >/dev/null 2>&1 && curl -sf $(ORDER_URL)/ready >/dev/null 2>&1 && break; sleep 2; done; \
	  $$compose ps; \
	  echo "orderflow running: web UI $(FRONTEND_URL), Kafka UI http://localhost:8090; make logs-local to follow, make stop-local to stop"; \
	fi

run-local-npm: ## npm start in the background (logs in data/orderflow.log)
	@mkdir -p data
	@if [ -f $(PID_FILE) ] && kill -0 $$(cat $(PID_FILE)) 2>/dev/null; then echo "already running (pid $$(cat $(PID_FILE)))"; exit 0; fi
	@ORDERFLOW_PID_FILE=$(PID_FILE) LOG_FORMAT=json nohup npm start > $(LOG_FILE) 2>&1 &
	@for i in $$(seq 1 50); do curl -sf $(STATUS_URL)/ready >/dev/null 2>&1 && curl -sf $(ORDER_URL)/ready >/dev/null 2>&1 && break; sleep 0.2; done
	@echo "orderflow running (pid $$(cat $(PID_FILE))); make logs-local to follow, make stop-local to stop"

stop-local: ## stop what run-local started, cleanly (the Compose volumes are kept: docker compose down -v forgets them)
	@compose="$(COMPOSE)"; stopped=; \
	if [ -n "$$compose" ] && [ -n "$$($$compose ps -q 2>/dev/null)" ]; then $$compose down && stopped=1; fi; \
	if [ -f $(PID_FILE) ] || [ -z "$$stopped" ]; then $(MAKE) --no-print-directory stop-local-npm; fi

stop-local-npm:
	@if [ -f $(PID_FILE) ]; then pid=$$(cat $(PID_FILE)); kill -TERM $$pid 2>/dev/null; \
	  while kill -0 $$pid 2>/dev/null; do sleep 0.1; done; rm -f $(PID_FILE); echo stopped; else echo "not running"; fi

logs-local:
	@compose="$(COMPOSE)"; \
	if [ -n "$$compose" ] && [ -n "$$($$compose ps -q 2>/dev/null)" ]; then $$compose logs -f --tail=50; else tail -f $(LOG_FILE); fi

test-order: ## place a test order as CUSTOMER
	@token="$(TOKEN)"; [ -n "$$token" ] || token=$$(npm run -s token -- --customer $(CUSTOMER) 2>/dev/null); \
	curl -s -X POST $(ORDER_URL)/orders -H 'content-type: application/json' $${token:+-H "authorization: Bearer $$token"} \
	  -d '{"customerId":"$(CUSTOMER)","items":[{"productId":"product-1","quantity":1}]}'; echo

test-inventory: ## stock levels
	curl -s $(INVENTORY_URL)/inventory; echo

test-status: ## status of ORDER_ID, or the latest orders (an operator's)
	@token="$(TOKEN)"; [ -n "$$token" ] || token=$$(npm run -s token -- --operator 2>/dev/null); \
	if [ -n "$(ORDER_ID)" ]; then path=/status/$(ORDER_ID); else path="/status?limit=5"; fi; \
	curl -s "$(STATUS_URL)$$path" $${token:+-H "authorization: Bearer $$token"}; echo

health-check: ## /health and /ready of every service
	@for port in $(PORTS); do printf "%-6s health " $$port; curl -s -o /dev/null -w "%{http_code}" http://localhost:$$port/health; printf "  ready "; curl -s -o /dev/null -w "%{http_code}\n" http://localhost:$$port/ready; done

test:
	npm test

bench:
	npm run bench

reset:
	npm run reset

build-local: ## build the images: $(SERVICE_IMAGE) (every service) and $(WEB_IMAGE)
	docker build $(DOCKER_BUILD_FLAGS) -t $(SERVICE_IMAGE) -f Dockerfile .
	docker build $(DOCKER_BUILD_FLAGS) -t $(WEB_IMAGE) -f Dockerfile.web .

build-k8s: build-local ## build the images and put them where K8S_TARGET's cluster pulls from
ifeq ($(K8S_TARGET),kind)
	kind load docker-image $(SERVICE_IMAGE) $(WEB_IMAGE) --name $(KIND_CLUSTER)
else ifeq ($(K8S_TARGET),minikube)
	minikube image load $(SERVICE_IMAGE)
	minikube image load $(WEB_IMAGE)
else ifeq ($(K8S_TARGET),eks)
	@test -n "$(ECR_REGISTRY)" || { echo "set ECR_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com"; exit 1; }
	docker tag $(SERVICE_IMAGE) $(ECR_REGISTRY)/$(SERVICE_IMAGE)
	docker tag $(WEB_IMAGE) $(ECR_REGISTRY)/$(WEB_IMAGE)
	docker push $(ECR_REGISTRY)/$(SERVICE_IMAGE)
	docker push $(ECR_REGISTRY)/$(WEB_IMAGE)
else
	@echo "K8S_TARGET must be kind, minikube or eks"; exit 1
endif

deploy-k8s: ## deploy to the current kubectl context (deploy/k8s/deploy-all.sh $(K8S_TARGET))
	IMAGE_TAG=$(IMAGE_TAG) ECR_REGISTRY=$(ECR_REGISTRY) deploy/k8s/deploy-all.sh $(K8S_TARGET)

clean-k8s: ## delete orderflow from the cluster: topics first (while their operator runs), then everything, then the namespace
	-kubectl -n $(K8S_NAMESPACE) delete kafkatopics --all --ignore-not-found --timeout=120s
	-kubectl kustomize $(K8S_OVERLAY) | kubectl delete --ignore-not-found --timeout=300s -f -
	-kubectl delete namespace $(K8S_NAMESPACE) --ignore-not-found --timeout=300s

port-forward: ## the cluster's web UI and services on localhost:3000 and 8080-8085 (Ctrl+C stops)
	@trap 'kill 0' INT TERM; \
	for pair in frontend:3000 order-service:8080 inventory-service:8081 payment-service:8082 \
	            notification-service:8083 shipping-service:8084 status-service:8085; do \
	  port=$${pair##*:}; curl -s -o /dev/null --max-time 1 http://127.0.0.1:$$port/; \
	  if [ $$? -ne 7 ]; then echo "localhost:$$port already answers (kind's port mapping?): not forwarded"; continue; fi; \
	  kubectl -n $(K8S_NAMESPACE) port-forward "svc/$${pair%%:*}" "$$port:$$port" & \
	done; \
	echo "web UI $(FRONTEND_URL); services on localhost:8080-8085; Ctrl+C stops"; wait

open-frontend: ## open the web UI in a browser
	@echo "$(FRONTEND_URL)"
	@if command -v xdg-open >/dev/null 2>&1; then xdg-open "$(FRONTEND_URL)" >/dev/null 2>&1 & \
	elif command -v open >/dev/null 2>&1; then open "$(FRONTEND_URL)"; fi
