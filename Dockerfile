# The module built on debian:bookworm against Debian's nginx-dev, the same
# steps as `make`, and a runtime image with the stock nginx, the module and
# conf/.  Build from the repository root:  docker build -t gateway .

FROM debian:bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        make gcc libc6-dev perl nginx-dev libssl-dev libyajl-dev \
        libcurl4-openssl-dev libsqlite3-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY config Makefile ./
COPY src/ src/
COPY t/deps t/deps
RUN make module


FROM debian:bookworm

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx libyajl2 libcurl4 libsqlite3-0 libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /src/build/ngx_integrations_module.so \
    /usr/lib/nginx/modules/ngx_integrations_module.so
COPY conf/ /etc/nginx/integrations/
COPY conf/nginx.conf /etc/nginx/nginx.conf

# the secret key is mounted at run time, never baked into the image:
#   docker run -v /secure/coupang.key:/etc/nginx/secrets/coupang.key:ro ...
EXPOSE 8080 3128
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
