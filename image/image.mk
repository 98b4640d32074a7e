# image/image.mk — the image and the seed's rake tasks as make targets
# (included by the top-level Makefile, which defines VERSION, COMMIT, build).
#
#   make image [FLAVOR=offline|alpine]   build alpine-server:VERSION[-offline]
#   make run                             image + start + how to connect
#   make start | stop | restart | exec | ssh | logs
#   make e2e [E2E_RUN=regexp]            container tests (real Docker engine)
#   make example-debian                  examples/debian: svinit in a Debian image
#
# FLAVOR defaults to offline: it builds on any machine with Debian's package
# mirror and no registry (this one, CI), and it is the image `make e2e`
# proves, so `make run` starts exactly what the tests passed. FLAVOR=alpine
# builds the product image and falls back to offline, saying so, when its
# base images cannot be pulled.

FLAVOR        ?= offline
CONTAINER     ?= alpine-server
SSH_HOST_PORT ?= 2222
E2E_TIMEOUT   ?= 15m
E2E_RUN       ?=
IMAGE_ENV      = FLAVOR=$(FLAVOR) VERSION=$(VERSION) REVISION=$(COMMIT) \
                 CONTAINER=$(CONTAINER) SSH_HOST_PORT=$(SSH_HOST_PORT)

.PHONY: docker base image start stop restart exec ssh logs run e2e example-debian

docker: ## a Docker engine that answers (installs/starts one as root on Debian)
	@scripts/ensure-docker

base: docker ## alpine-server-base:offline from Debian packages (cached)
	@image/offline/build-base

image: docker build ## the image (FLAVOR=offline|alpine)
	@$(IMAGE_ENV) image/tasks image

start: docker ## run it detached: ./ssh on /boot/ssh, SSH on 127.0.0.1:$(SSH_HOST_PORT)
	@$(IMAGE_ENV) image/tasks start

stop:
	@$(IMAGE_ENV) image/tasks stop

restart:
	@$(IMAGE_ENV) image/tasks restart

exec: ## a login shell in the container (or CMD="...")
	@$(IMAGE_ENV) image/tasks exec $(CMD)

ssh: ## ssh root@127.0.0.1 -p $(SSH_HOST_PORT) with the key in ./ssh
	@$(IMAGE_ENV) image/tasks ssh $(CMD)

logs:
	@$(IMAGE_ENV) image/tasks logs

run: image ## image + start + how to connect
	@$(IMAGE_ENV) image/tasks start
	@$(IMAGE_ENV) image/tasks howto

e2e: ## container tests against the offline image (E2E=1 go test ./test/e2e), with Compose, Swarm, Podman
	@$(MAKE) --no-print-directory image FLAVOR=offline
	@scripts/e2e-deps
	E2E=1 E2E_IMAGE=alpine-server:$(VERSION)-offline E2E_VERSION=$(VERSION) \
		$(GO) test -race -count=1 -timeout $(E2E_TIMEOUT) -v -run '$(E2E_RUN)' ./test/e2e/

example-debian: ## examples/debian on the offline image: alpine-server-example-debian:VERSION
	@$(MAKE) --no-print-directory image FLAVOR=offline
	@examples/debian/build-rootfs
	DOCKER_BUILDKIT=0 docker build -q --build-arg SVINIT_IMAGE=alpine-server:$(VERSION)-offline \
		-t alpine-server-example-debian:$(VERSION) examples/debian
