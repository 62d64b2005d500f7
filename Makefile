# Document 001's targets. Each calls the npm scripts; see README.md.
PID_FILE := data/orderflow.pid
LOG_FILE := data/orderflow.log
ORDER_URL ?= http://localhost:$(or $(ORDER_SERVICE_PORT),8080)
INVENTORY_URL ?= http://localhost:$(or $(INVENTORY_SERVICE_PORT),8081)
STATUS_URL ?= http://localhost:$(or $(STATUS_SERVICE_PORT),8085)
PORTS := $(or $(ORDER_SERVICE_PORT),8080) $(or $(INVENTORY_SERVICE_PORT),8081) $(or $(PAYMENT_SERVICE_PORT),8082) \
         $(or $(NOTIFICATION_SERVICE_PORT),8083) $(or $(SHIPPING_SERVICE_PORT),8084) $(or $(STATUS_SERVICE_PORT),8085)

.PHONY: install run-local stop-local logs-local test-order test-inventory test-status health-check test bench reset

install:
	npm install

run-local: ## start every service in the background (logs in data/orderflow.log)
	@mkdir -p data
	@if [ -f $(PID_FILE) ] && kill -0 $$(cat $(PID_FILE)) 2>/dev/null; then echo "already running (pid $$(cat $(PID_FILE)))"; exit 0; fi
	@ORDERFLOW_PID_FILE=$(PID_FILE) LOG_FORMAT=json nohup npm start > $(LOG_FILE) 2>&1 &
	@for i in $$(seq 1 50); do curl -sf $(STATUS_URL)/ready >/dev/null 2>&1 && curl -sf $(ORDER_URL)/ready >/dev/null 2>&1 && break; sleep 0.2; done
	@echo "orderflow running (pid $$(cat $(PID_FILE))); make logs-local to follow, make stop-local to stop"

stop-local: ## stop what run-local started, cleanly
	@if [ -f $(PID_FILE) ]; then pid=$$(cat $(PID_FILE)); kill -TERM $$pid 2>/dev/null; \
	  while kill -0 $$pid 2>/dev/null; do sleep 0.1; done; rm -f $(PID_FILE); echo stopped; else echo "not running"; fi

logs-local:
	tail -f $(LOG_FILE)

test-order: ## place a test order
	curl -s -X POST $(ORDER_URL)/orders -H 'content-type: application/json' \
	  -d '{"customerId":"make-test","items":[{"productId":"product-1","quantity":1}]}'; echo

test-inventory: ## stock levels
	curl -s $(INVENTORY_URL)/inventory; echo

test-status: ## status of ORDER_ID, or the latest orders
	@if [ -n "$(ORDER_ID)" ]; then curl -s $(STATUS_URL)/status/$(ORDER_ID); else curl -s "$(STATUS_URL)/status?limit=5"; fi; echo

health-check: ## /health and /ready of every service
	@for port in $(PORTS); do printf "%-6s health " $$port; curl -s -o /dev/null -w "%{http_code}" http://localhost:$$port/health; printf "  ready "; curl -s -o /dev/null -w "%{http_code}\n" http://localhost:$$port/ready; done

test:
	npm test

bench:
	npm run bench

reset:
	npm run reset
