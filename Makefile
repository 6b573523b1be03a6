.PHONY: build test run
build:
	go build -o bin/klite ./cmd/klite
test:
	./hack/test.sh
run:
	go run ./cmd/klite server
